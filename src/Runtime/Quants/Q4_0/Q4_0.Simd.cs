using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q4_0 weights x Q8_0 activations (ggml_vec_dot_q4_0_q8_0). The nibbles stay unsigned (0..15) so vpmaddubsw can
// take them directly; the -8 offset is applied as 8 * (activation pair sums), which depends only on the
// activations and so is computed once per activation step and shared by every weight row of a tile.

[KernelPrimitives(typeof(BlockQ4_0), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class Q4_0xQ8_0_Avx512
{
    /// <summary>Two blocks per 512-bit step: lanes 0-7 of the int32 sums are block 0, lanes 8-15 block 1.</summary>
    public const int ValuesPerStep = 2 * BlockQ4_0.BlockSize;

    public readonly record struct Weights(Vector512<byte> Q, Vector512<float> D);

    public readonly record struct Activations(Vector512<sbyte> Q, Vector512<short> Offset, Vector512<float> D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ4_0*)w;
        var packed = Vector256.Create(Vector128.Load(b[0].Qs), Vector128.Load(b[1].Qs));
        // 128-bit lanes [lo0, lo1, hi0, hi1] -> value order [lo0, hi0, lo1, hi1] (low nibbles are values 0..15).
        var nibbles = Int8Dot.Join(packed, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector512.Create((byte)0x0F);
        var q = Avx512F.PermuteVar8x64(nibbles.AsUInt64(), Vector512.Create(0ul, 1, 4, 5, 2, 3, 6, 7)).AsByte();
        return new(q, Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        var q = Int8Dot.Join(Vector256.Load(b[0].Qs), Vector256.Load(b[1].Qs));
        var offset = Avx512BW.MultiplyAddAdjacent(Vector512.Create((byte)8), q);
        return new(q, offset, Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var pairs = Avx512BW.MultiplyAddAdjacent(w.Q, x.Q) - x.Offset;
        var sums = Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), w.D * x.D, acc);
    }
}

[KernelPrimitives(typeof(BlockQ4_0), typeof(BlockQ8_0), KernelIsa.Avx2)]
internal static unsafe class Q4_0xQ8_0_Avx2
{
    public const int ValuesPerStep = BlockQ4_0.BlockSize;

    public readonly record struct Weights(Vector256<byte> Q, float D);

    /// <summary>The activation quants, minus 8 times their sums of four (the -8 offset of the nibbles), and the scale.</summary>
    public readonly record struct Activations(Vector256<sbyte> Q, Vector256<int> Offset, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ4_0*)w;
        var packed = Vector128.Load(b->Qs);
        var q = Vector256.Create(packed, Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
        return new(q, Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        var q = Vector256.Load(b->Qs);
        return new(q, -Int8Dot.SumQuads(Vector256.Create((byte)8), q), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Weights w, in Activations x, Vector256<float> acc)
    {
        var sums = Int8Dot.SumQuads(x.Offset, w.Q, x.Q);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), Vector256.Create(w.D * x.D), acc);
    }
}

[KernelPrimitives(typeof(BlockQ4_0), typeof(BlockQ8_0), KernelIsa.Portable)]
internal static unsafe class Q4_0xQ8_0_Portable
{
    public const int ValuesPerStep = BlockQ4_0.BlockSize;

    public readonly record struct Weights(Vector128<sbyte> Lo, Vector128<sbyte> Hi, float D);

    public readonly record struct Activations(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ4_0*)w;
        var packed = Vector128.Load(b->Qs);
        var eight = Vector128.Create((sbyte)8);
        var lo = (packed & Vector128.Create((byte)0x0F)).AsSByte() - eight;
        var hi = Vector128.ShiftRightLogical(packed, 4).AsSByte() - eight;
        return new(lo, hi, Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        return new(Vector128.Load(b->Qs), Vector128.Load(b->Qs + 16), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Weights w, in Activations x, Vector128<float> acc)
    {
        var sums = Int8Dot.Portable(w.Lo, x.Q0) + Int8Dot.Portable(w.Hi, x.Q1);
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(w.D * x.D), acc);
    }
}
