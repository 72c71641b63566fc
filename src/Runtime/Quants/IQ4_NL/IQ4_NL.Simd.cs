using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// IQ4_NL weights x Q8_0 activations (ggml_vec_dot_iq4_nl_q8_0). A nibble is an index into a 16-entry table, which is
// exactly one byte shuffle (pshufb / tbl) per 16 or 64 values. vpmaddubsw needs an unsigned first operand, so the
// AVX paths look up |value| and move the value's sign onto the activation (|w| * (sign(w) * x) = w * x; |q| <= 127
// so the 16-bit pair sums cannot saturate). Each block's integer sum is exact, then scaled by d_w * d_x and
// accumulated in float lanes, as ggml's AVX2 kernel does.

/// <summary>The IQ4_NL level table as shuffle operands: the levels, their magnitudes and their signs.</summary>
internal static class NonLinearTable
{
    /// <summary><see cref="BlockIQ4_NL.Values"/>, one level per byte lane.</summary>
    public static Vector128<sbyte> Values
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector128.Create(BlockIQ4_NL.Values);
    }

    /// <summary>|level|, for vpmaddubsw's unsigned operand.</summary>
    public static Vector128<byte> Magnitudes
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector128.Abs(Values).AsByte();
    }

    /// <summary>-1 where the level is negative, 0 elsewhere: (x ^ s) - s negates x where s = -1.</summary>
    public static Vector128<sbyte> Negative
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector128.LessThan(Values, Vector128<sbyte>.Zero);
    }

    /// <summary>A 128-bit table in every 128-bit lane (vpshufb looks up within lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> InEveryLane<T>(Vector128<T> table)
    {
        var half = Vector256.Create(table, table);
        return Vector512.Create(half, half);
    }
}

[KernelPrimitives(typeof(BlockIQ4_NL), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class IQ4_NLxQ8_0_Avx512
{
    /// <summary>Two blocks per 512-bit step: lanes 0-7 of the int32 sums are block 0, lanes 8-15 block 1.</summary>
    public const int ValuesPerStep = 2 * BlockIQ4_NL.BlockSize;

    /// <summary>|level| and sign (-1 / 0) of the 64 weights in value order, and the two block scales.</summary>
    public readonly record struct Weights(Vector512<byte> Magnitude, Vector512<sbyte> Negative, Vector512<float> D);

    public readonly record struct Activations(Vector512<sbyte> Q, Vector512<float> D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_NL*)w;
        var packed = Vector256.Create(Vector128.Load(b[0].Qs), Vector128.Load(b[1].Qs));
        // 128-bit lanes [lo0, lo1, hi0, hi1] -> value order [lo0, hi0, lo1, hi1] (low nibbles are values 0..15).
        var nibbles = Vector512.Create(packed, Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector512.Create((byte)0x0F);
        var index = Avx512F.PermuteVar8x64(nibbles.AsUInt64(), Vector512.Create(0ul, 1, 4, 5, 2, 3, 6, 7)).AsByte();
        return new(
            Avx512BW.Shuffle(NonLinearTable.InEveryLane(NonLinearTable.Magnitudes), index),
            Avx512BW.Shuffle(NonLinearTable.InEveryLane(NonLinearTable.Negative), index.AsSByte()),
            Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        var q = Vector512.Create(Vector256.Load(b[0].Qs), Vector256.Load(b[1].Qs));
        return new(q, Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var signedX = (x.Q ^ w.Negative) - w.Negative;
        var pairs = Avx512BW.MultiplyAddAdjacent(w.Magnitude, signedX);
        var sums = Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), x.D * w.D, acc);
    }
}

[KernelPrimitives(typeof(BlockIQ4_NL), typeof(BlockQ8_0), KernelIsa.Avx2)]
internal static unsafe class IQ4_NLxQ8_0_Avx2
{
    /// <summary>One block per step, so with two accumulators blocks alternate between them as in ggml's AVX2 kernel.</summary>
    public const int ValuesPerStep = BlockIQ4_NL.BlockSize;

    /// <summary>The 32 weight levels in value order, and the block scale.</summary>
    public readonly record struct Weights(Vector256<sbyte> Q, float D);

    public readonly record struct Activations(Vector256<sbyte> Q, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_NL*)w;
        var packed = Vector128.Load(b->Qs);
        var index = Vector256.Create(packed, Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
        var table = Vector256.Create(NonLinearTable.Values, NonLinearTable.Values);
        return new(Avx2.Shuffle(table, index.AsSByte()), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        return new(Vector256.Load(b->Qs), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Weights w, in Activations x, Vector256<float> acc)
    {
        var pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(w.Q), Avx2.Sign(x.Q, w.Q));
        var sums = Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), Vector256.Create(x.D * w.D), acc);
    }
}

[KernelPrimitives(typeof(BlockIQ4_NL), typeof(BlockQ8_0), KernelIsa.Portable)]
internal static unsafe class IQ4_NLxQ8_0_Portable
{
    public const int ValuesPerStep = BlockIQ4_NL.BlockSize;

    /// <summary>Levels of values 0..15 and 16..31, and the block scale.</summary>
    public readonly record struct Weights(Vector128<sbyte> Lo, Vector128<sbyte> Hi, float D);

    public readonly record struct Activations(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_NL*)w;
        var packed = Vector128.Load(b->Qs);
        var table = NonLinearTable.Values;
        var lo = Vector128.ShuffleNative(table, (packed & Vector128.Create((byte)0x0F)).AsSByte());
        var hi = Vector128.ShuffleNative(table, Vector128.ShiftRightLogical(packed, 4).AsSByte());
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
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(x.D * w.D), acc);
    }
}
