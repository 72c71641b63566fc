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

/// <summary>
/// The integer work both x86 paths share, in <see cref="GgmlLanes"/>' layout: one block per step, one accumulator per
/// dot product, acc = fma(d_w * d_x, lane sums, acc). That is the order of llama.cpp's batched path (tinyBLAS, which
/// runs prompts and perplexity chunks), so those results are llama.cpp's bit for bit; its one-token vec_dot
/// alternates blocks between two accumulators, so generation can differ from it in the last bit. A faster AVX-512 form
/// with two blocks per step put stories260K-Q3_K_M's perplexity 0.105% off llama-perplexity's (the bound is 0.1%).
/// </summary>
internal static unsafe class IQ4_NLxQ8_0_X86
{
    /// <summary>The 32 weight levels in the lane layout, and the block scale.</summary>
    public readonly record struct Weights(Vector256<sbyte> Level, float D);

    /// <summary>The 32 activations in the lane layout, and the block scale.</summary>
    public readonly record struct Activations(Vector256<sbyte> Q, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_NL*)w;
        var table = Vector256.Create(NonLinearTable.Values, NonLinearTable.Values);
        var level = Avx2.Shuffle(table, GgmlLanes.Nibbles(Vector128.Load(b->Qs)).AsSByte());
        return new(level, Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        return new(GgmlLanes.FromValueOrder(Vector256.Load(b->Qs)), Fp16.HalfBitsToSingle(b->D));
    }

    /// <summary>ggml's eight exact lane sums of level * q_x (|level| &lt;= 127).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LaneSums(in Weights w, in Activations x) => Vector256.ConvertToSingle(Int8Dot.SumQuadsSigned(w.Level, x.Q));
}

[KernelPrimitives(typeof(BlockIQ4_NL), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class IQ4_NLxQ8_0_Avx512
{
    public const int ValuesPerStep = BlockIQ4_NL.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IQ4_NLxQ8_0_X86.Weights LoadWeights(byte* w) => IQ4_NLxQ8_0_X86.LoadWeights(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IQ4_NLxQ8_0_X86.Activations LoadActivations(byte* x) => IQ4_NLxQ8_0_X86.LoadActivations(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in IQ4_NLxQ8_0_X86.Weights w, in IQ4_NLxQ8_0_X86.Activations x, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.Create(x.D * w.D), IQ4_NLxQ8_0_X86.LaneSums(w, x).ToVector512(), acc);
}

[KernelPrimitives(typeof(BlockIQ4_NL), typeof(BlockQ8_0), KernelIsa.Avx2)]
internal static unsafe class IQ4_NLxQ8_0_Avx2
{
    public const int ValuesPerStep = BlockIQ4_NL.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IQ4_NLxQ8_0_X86.Weights LoadWeights(byte* w) => IQ4_NLxQ8_0_X86.LoadWeights(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IQ4_NLxQ8_0_X86.Activations LoadActivations(byte* x) => IQ4_NLxQ8_0_X86.LoadActivations(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in IQ4_NLxQ8_0_X86.Weights w, in IQ4_NLxQ8_0_X86.Activations x, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(x.D * w.D), IQ4_NLxQ8_0_X86.LaneSums(w, x), acc);
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
