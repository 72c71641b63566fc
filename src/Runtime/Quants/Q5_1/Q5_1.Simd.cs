using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q5_1 weights x Q8_1 activations (ggml_vec_dot_q5_1_q8_1). The 5-bit quants (nibble | fifth bit << 4, 0..31) are
// unsigned, so vpmaddubsw takes them as they are (pair sums <= 2 * 31 * 127, inside int16); per block the exact
// integer sum is scaled by d_w * d_x, and the offset term m_w * s_x joins the same accumulator through one more
// FMA, with s_x in the first float lane of its block (zero elsewhere), prepared once per activation step as for
// Q4_1. llama.cpp keeps that term in a separate scalar sum; only the float summation order differs.

[KernelPrimitives(typeof(BlockQ5_1), typeof(BlockQ8_1), KernelIsa.Avx512)]
internal static unsafe class Q5_1xQ8_1_Avx512
{
    /// <summary>Two blocks per 512-bit step: lanes 0-7 of the int32 sums are block 0, lanes 8-15 block 1.</summary>
    public const int ValuesPerStep = 2 * BlockQ5_1.BlockSize;

    public readonly record struct Weights(Vector512<byte> Q, Vector512<float> D, Vector512<float> M);

    /// <summary>S: s of block 0 in lane 0 and of block 1 in lane 8, zero elsewhere.</summary>
    public readonly record struct Activations(Vector512<sbyte> Q, Vector512<float> D, Vector512<float> S);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ5_1*)w;
        var packed = Vector256.Create(Vector128.Load(b[0].Qs), Vector128.Load(b[1].Qs));
        // 128-bit lanes [lo0, lo1, hi0, hi1] -> value order [lo0, hi0, lo1, hi1] (low nibbles are values 0..15).
        var nibbles = Vector512.Create(packed, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector512.Create((byte)0x0F);
        var q = Avx512F.PermuteVar8x64(nibbles.AsUInt64(), Vector512.Create(0ul, 1, 4, 5, 2, 3, 6, 7)).AsByte();
        q |= FifthBits.TwoBlocks(Unsafe.ReadUnaligned<uint>(b[0].Qh), Unsafe.ReadUnaligned<uint>(b[1].Qh));
        return new(q,
            Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)),
            Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].M), Fp16.HalfBitsToSingle(b[1].M)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_1*)x;
        var q = Vector512.Create(Vector256.Load(b[0].Qs), Vector256.Load(b[1].Qs));
        var s = Vector512.Create(Vector256.CreateScalar(Fp16.HalfBitsToSingle(b[0].S)), Vector256.CreateScalar(Fp16.HalfBitsToSingle(b[1].S)));
        return new(q, Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)), s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var sums = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w.Q, x.Q), Vector512<short>.One);
        acc = Vector512.FusedMultiplyAdd(w.M, x.S, acc);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), w.D * x.D, acc);
    }
}

[KernelPrimitives(typeof(BlockQ5_1), typeof(BlockQ8_1), KernelIsa.Avx2)]
internal static unsafe class Q5_1xQ8_1_Avx2
{
    public const int ValuesPerStep = BlockQ5_1.BlockSize;

    public readonly record struct Weights(Vector256<byte> Q, float D, float M);

    /// <summary>S: s in lane 0, zero elsewhere.</summary>
    public readonly record struct Activations(Vector256<sbyte> Q, float D, Vector256<float> S);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ5_1*)w;
        var packed = Vector128.Load(b->Qs);
        var nibbles = Vector256.Create(packed, Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
        return new(nibbles | FifthBits.OneBlock(Unsafe.ReadUnaligned<uint>(b->Qh)), Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->M));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_1*)x;
        return new(Vector256.Load(b->Qs), Fp16.HalfBitsToSingle(b->D), Vector256.CreateScalar(Fp16.HalfBitsToSingle(b->S)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Weights w, in Activations x, Vector256<float> acc)
    {
        var sums = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w.Q, x.Q), Vector256<short>.One);
        acc = Vector256.FusedMultiplyAdd(Vector256.Create(w.M), x.S, acc);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), Vector256.Create(w.D * x.D), acc);
    }
}

[KernelPrimitives(typeof(BlockQ5_1), typeof(BlockQ8_1), KernelIsa.Portable)]
internal static unsafe class Q5_1xQ8_1_Portable
{
    public const int ValuesPerStep = BlockQ5_1.BlockSize;

    /// <summary>Lo: values 0..15, Hi: values 16..31, as non-negative bytes (0..31).</summary>
    public readonly record struct Weights(Vector128<sbyte> Lo, Vector128<sbyte> Hi, float D, float M);

    /// <summary>S: s in lane 0, zero elsewhere.</summary>
    public readonly record struct Activations(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D, Vector128<float> S);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ5_1*)w;
        var packed = Vector128.Load(b->Qs);
        var (fifthLo, fifthHi) = FifthBits.Portable(Unsafe.ReadUnaligned<uint>(b->Qh));
        var lo = ((packed & Vector128.Create((byte)0x0F)) | fifthLo).AsSByte();
        var hi = (Vector128.ShiftRightLogical(packed, 4) | fifthHi).AsSByte();
        return new(lo, hi, Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->M));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_1*)x;
        return new(Vector128.Load(b->Qs), Vector128.Load(b->Qs + 16), Fp16.HalfBitsToSingle(b->D), Vector128.CreateScalar(Fp16.HalfBitsToSingle(b->S)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Weights w, in Activations x, Vector128<float> acc)
    {
        var sums = Int8Dot.Portable(w.Lo, x.Q0) + Int8Dot.Portable(w.Hi, x.Q1);
        acc = Vector128.MultiplyAddEstimate(Vector128.Create(w.M), x.S, acc);
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(w.D * x.D), acc);
    }
}
