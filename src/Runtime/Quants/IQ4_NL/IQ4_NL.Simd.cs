using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// IQ4_NL weights x Q8_0 activations (ggml_vec_dot_iq4_nl_q8_0). A nibble is an index into a 16-entry table, which is
// exactly one byte shuffle (pshufb / tbl) per 16 or 64 values. vpmaddubsw needs an unsigned first operand, so the
// AVX paths take |level| and move the level's sign onto the activation (|w| * (sign(w) * x) = w * x; |q| <= 127
// so the 16-bit pair sums cannot saturate). Each block's integer sum is exact, then scaled by d_w * d_x and
// accumulated in float lanes, as ggml's AVX2 kernel does.

/// <summary>The IQ4_NL level table as a shuffle operand (constants the JIT reads straight from the table's bytes).</summary>
internal static unsafe class NonLinearTable
{
    /// <summary><see cref="BlockIQ4_NL.Values"/>, one level per byte lane.</summary>
    public static Vector128<sbyte> Values
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector128.Create(BlockIQ4_NL.Values);
    }

    /// <summary>The levels in every 128-bit lane (vpshufb looks up within lanes): one vbroadcasti32x4 from the table.</summary>
    public static Vector512<sbyte> InEveryLane
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Avx512F.BroadcastVector128ToVector512((int*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(BlockIQ4_NL.Values))).AsSByte();
    }

    /// <summary>
    /// Pair sums of w * x as |w| * (x where w >= 0, -x where w &lt; 0), the operands vpmaddubsw needs (unsigned
    /// first). AVX-512 has no vpsignb: the sign is one compare into a mask and one masked blend with -x, which
    /// depends only on the activations and so is computed once per step for every row of a tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> MultiplyAddPairs(Vector512<sbyte> level, Vector512<sbyte> x, Vector512<sbyte> negatedX) =>
        Avx512BW.MultiplyAddAdjacent(Vector512.Abs(level).AsByte(), Vector512.ConditionalSelect(Vector512.LessThan(level, Vector512<sbyte>.Zero), negatedX, x));
}

[KernelPrimitives(typeof(BlockIQ4_NL), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class IQ4_NLxQ8_0_Avx512
{
    /// <summary>
    /// Two blocks per 512-bit step, as 128-bit lanes [block 0 values 0-15, block 1 values 0-15, block 0 values
    /// 16-31, block 1 values 16-31]: the packed bytes, then their high nibbles, with no permute. The activations are
    /// loaded in the same lane order, and the scales are spread to match (int32 lanes 0-3 and 8-11 are block 0).
    /// </summary>
    public const int ValuesPerStep = 2 * BlockIQ4_NL.BlockSize;

    /// <summary>The 64 weight levels and the two block scales, in the lane order above.</summary>
    public readonly record struct Weights(Vector512<sbyte> Level, Vector512<float> D);

    /// <summary>The 64 activations in the weights' lane order, negated, and the two block scales.</summary>
    public readonly record struct Activations(Vector512<sbyte> Q, Vector512<sbyte> NegatedQ, Vector512<float> D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_NL*)w;
        var packed = Vector256.Create(Vector128.Load(b[0].Qs), Vector128.Load(b[1].Qs));
        var high = Vector256.ShiftRightLogical(packed.AsUInt16(), 4).AsByte();
        var index = Avx512F.InsertVector256(packed.ToVector512Unsafe(), high, 1) & Vector512.Create((byte)0x0F);
        var level = Avx512BW.Shuffle(NonLinearTable.InEveryLane, index.AsSByte());
        return new(level, LaneScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        var first = Vector256.Create(Vector128.Load(b[0].Qs), Vector128.Load(b[1].Qs));
        var second = Vector256.Create(Vector128.Load(b[0].Qs + 16), Vector128.Load(b[1].Qs + 16));
        var q = Avx512F.InsertVector256(first.ToVector512Unsafe(), second, 1);
        return new(q, -q, LaneScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var sums = Avx512BW.MultiplyAddAdjacent(NonLinearTable.MultiplyAddPairs(w.Level, x.Q, x.NegatedQ), Vector512<short>.One);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), x.D * w.D, acc);
    }

    /// <summary>d0 in int32 lanes 0-3 and 8-11, d1 in lanes 4-7 and 12-15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LaneScales(float d0, float d1) =>
        Avx512F.PermuteVar16x32(Vector128.CreateScalarUnsafe(d0).WithElement(1, d1).ToVector256Unsafe().ToVector512Unsafe(),
            Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1));
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
        var sums = Int8Dot.SumQuadsSigned(w.Q, x.Q);
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
