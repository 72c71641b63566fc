using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// IQ4_XS weights x Q8_K activations (ggml_vec_dot_iq4_xs_q8_K, its AVX2 branch). One step is one 256-value
// super-block. Levels come from the IQ4_NL table by byte shuffle (see IQ4_NL.Simd.cs for the sign handling);
// vpmaddwd multiplies the 16-bit pair sums by each sub-block's (ls - 32), so the whole super-block is one exact
// int32 sum per lane, converted once and scaled by d_w * d_x with one FMA. Both AVX paths use one accumulator per
// row (as every kernel does): a step is long enough that the FMA latency does not show. On AVX2 the lanes are llama.cpp's,
// stored in the order that makes the final sum its hsum_float_8 (KQuantSimd): its result bit for bit.

/// <summary>The sub-block scales of an IQ4_XS super-block, decoded with vector code that every path can run.</summary>
internal static unsafe class IQ4_XSScales
{
    /// <summary>
    /// ls - 32 of the 8 sub-blocks, lane ib = sub-block ib. Multiplying a 16-bit lane by 2^(12 - 4k) moves its
    /// nibble k to bits 12-15, and by 2^(14 - 2ib) moves bits 2ib..2ib+1 to bits 14-15, so a multiply and a shift
    /// extract a different field in every lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<short> Decode(BlockIQ4_XS* b)
    {
        // scales_l bits 0-15 in lanes 0-3 (sub-blocks 0-3), bits 16-31 in lanes 4-7.
        var low = Vector128.ShuffleNative(
            Vector128.CreateScalar(*(uint*)b->ScalesL).AsByte(),
            Vector128.Create((byte)0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3)).AsUInt16();
        var lowBits = Vector128.ShiftRightLogical(low * Vector128.Create((ushort)4096, 256, 16, 1, 4096, 256, 16, 1), 12);
        var high = Vector128.Create(b->ScalesH) * Vector128.Create((ushort)(1 << 14), 1 << 12, 1 << 10, 1 << 8, 1 << 6, 1 << 4, 1 << 2, 1);
        var highBits = Vector128.ShiftLeft(Vector128.ShiftRightLogical(high, 14), 4);
        return (lowBits | highBits).AsInt16() - Vector128.Create((short)32);
    }
}

// Matrix-matrix tiles of 2 rows x 2 tokens: two tokens' activations take 16 registers, and with 4 rows the
// accumulators and one row's levels no longer fit in 32.
[KernelPrimitives(typeof(BlockIQ4_XS), typeof(BlockQ8_K), KernelIsa.Avx512, GemmRows = 2)]
internal static unsafe class IQ4_XSxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockIQ4_XS.BlockSize;

    /// <summary>
    /// Levels of 64 values each (sub-blocks 2k and 2k + 1) as 128-bit lanes [2k: 0-15, 2k+1: 0-15, 2k: 16-31,
    /// 2k+1: 16-31], which is how the 32 packed bytes and their high nibbles fall with no permute. The activations
    /// are permuted to match instead, once per step for every row of a tile.
    /// </summary>
    public readonly record struct Weights(Vector512<sbyte> L0, Vector512<sbyte> L1, Vector512<sbyte> L2, Vector512<sbyte> L3, Vector128<short> Scales, float D);

    /// <summary>
    /// The 256 activations, each 64 in the weights' lane order, and their negations (for the levels' signs, see
    /// <see cref="NonLinearTable.MultiplyAddPairs"/>).
    /// </summary>
    public readonly record struct Activations(
        Vector512<sbyte> Q0, Vector512<sbyte> Q1, Vector512<sbyte> Q2, Vector512<sbyte> Q3,
        Vector512<sbyte> N0, Vector512<sbyte> N1, Vector512<sbyte> N2, Vector512<sbyte> N3, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_XS*)w;
        return new(Levels(b->Qs), Levels(b->Qs + 32), Levels(b->Qs + 64), Levels(b->Qs + 96), IQ4_XSScales.Decode(b), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        var (q0, q1, q2, q3) = (Permuted(b->Qs), Permuted(b->Qs + 64), Permuted(b->Qs + 128), Permuted(b->Qs + 192));
        return new(q0, q1, q2, q3, -q0, -q1, -q2, -q3, b->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var scales = w.Scales.ToVector256Unsafe().ToVector512Unsafe();
        var sums = SubBlockPair(w.L0, x.Q0, x.N0, scales, 0) + SubBlockPair(w.L1, x.Q1, x.N1, scales, 1)
                 + SubBlockPair(w.L2, x.Q2, x.N2, scales, 2) + SubBlockPair(w.L3, x.Q3, x.N3, scales, 3);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), Vector512.Create(w.D * x.D), acc);
    }

    /// <summary>32 packed bytes in both halves, the upper half shifted by 4: low nibbles, then high nibbles.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Levels(byte* qs)
    {
        var both = Avx512F.BroadcastVector256ToVector512((ulong*)qs);
        var index = Avx512F.ShiftRightLogicalVariable(both, Vector512.Create(0ul, 0, 0, 0, 4, 4, 4, 4)).AsByte() & Vector512.Create((byte)0x0F);
        return Avx512BW.Shuffle(NonLinearTable.InEveryLane, index.AsSByte());
    }

    /// <summary>Value-order lanes [2k: 0-15, 2k: 16-31, 2k+1: 0-15, 2k+1: 16-31] -> [lanes 0, 2, 1, 3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Permuted(sbyte* q) =>
        Avx512F.PermuteVar8x64(Vector512.Load((long*)q), Vector512.Create(0L, 1, 4, 5, 2, 3, 6, 7)).AsSByte();

    /// <summary>Sum of (ls - 32) * level * q8 over sub-blocks 2k and 2k + 1, in 16 exact int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> SubBlockPair(Vector512<sbyte> level, Vector512<sbyte> x, Vector512<sbyte> negatedX, Vector512<short> scales, int k)
    {
        // 128-bit lane j holds sub-block 2k + (j & 1): its scale in every 16-bit lane of it.
        var laneScale = Avx512BW.PermuteVar32x16(scales, Vector512.Create((short)(2 * k)) + SubBlockOfLane);
        return Avx512BW.MultiplyAddAdjacent(NonLinearTable.MultiplyAddPairs(level, x, negatedX), laneScale);
    }

    /// <summary>0 in the 16-bit lanes of 128-bit lanes 0 and 2, 1 in those of lanes 1 and 3.</summary>
    private static Vector512<short> SubBlockOfLane
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(
            (short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    }
}

[KernelPrimitives(typeof(BlockIQ4_XS), typeof(BlockQ8_K), KernelIsa.Avx2)]
internal static unsafe class IQ4_XSxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockIQ4_XS.BlockSize;

    /// <summary>
    /// The block itself and its decoded scales: a super-block unpacks to 8 registers, more than a 4-row tile can
    /// hold beside its accumulators, so sub-blocks are unpacked one at a time inside <see cref="MulAdd"/>.
    /// </summary>
    public readonly struct Weights(BlockIQ4_XS* block, Vector128<short> scales, float d)
    {
        public readonly BlockIQ4_XS* Block = block;
        public readonly Vector128<short> Scales = scales;
        public readonly float D = d;
    }

    /// <summary>The activations stay in memory (read as operands of vpsignb); only the scale is loaded.</summary>
    public readonly struct Activations(BlockQ8_K* block)
    {
        public readonly BlockQ8_K* Block = block;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_XS*)w;
        return new(b, IQ4_XSScales.Decode(b), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x) => new((BlockQ8_K*)x);

    /// <summary>
    /// A loop over the 8 sub-blocks rather than 8 inlined copies: unrolled, the constants and temporaries of all
    /// sub-blocks outgrow the 16 ymm registers beside a tile's accumulators and spill.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Weights w, in Activations x, Vector256<float> acc)
    {
        var table = Vector256.Create(NonLinearTable.Values, NonLinearTable.Values);
        var scales = w.Scales;
        var sums = Vector256<int>.Zero;
        for (int ib = 0; ib < BlockIQ4_XS.SubBlocks; ib++)
        {
            var packed = Vector128.Load(w.Block->Qs + 16 * ib);
            var index = Vector256.Create(packed, Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
            var level = Avx2.Shuffle(table, index.AsSByte());
            var pairs = Avx2.MultiplyAddAdjacent(Avx2.Abs(level), Avx2.Sign(Vector256.Load(x.Block->Qs + 32 * ib), level));
            // Lane 0 of the scales is sub-block ib's: spread it, then move the next one down.
            sums += Avx2.MultiplyAddAdjacent(pairs, Avx2.BroadcastScalarToVector256(scales));
            scales = Sse2.ShiftRightLogical128BitLane(scales, 2);
        }
        return KQuantSimd.MulAddInLlamaOrder(sums, w.D * x.Block->D, acc);
    }
}

[KernelPrimitives(typeof(BlockIQ4_XS), typeof(BlockQ8_K), KernelIsa.Portable)]
internal static unsafe class IQ4_XSxQ8_K_Portable
{
    public const int ValuesPerStep = BlockIQ4_XS.BlockSize;

    /// <summary>The block and its decoded scales; sub-blocks are unpacked one at a time inside <see cref="MulAdd"/>.</summary>
    public readonly struct Weights(BlockIQ4_XS* block, Vector128<short> scales, float d)
    {
        public readonly BlockIQ4_XS* Block = block;
        public readonly Vector128<short> Scales = scales;
        public readonly float D = d;
    }

    public readonly struct Activations(BlockQ8_K* block)
    {
        public readonly BlockQ8_K* Block = block;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockIQ4_XS*)w;
        return new(b, IQ4_XSScales.Decode(b), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x) => new((BlockQ8_K*)x);

    /// <summary>A loop over the 8 sub-blocks, as on AVX2 (unrolled, it spills on 16-register targets).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Weights w, in Activations x, Vector128<float> acc)
    {
        var table = NonLinearTable.Values;
        var scales = w.Scales;
        var sums = Vector128<int>.Zero;
        for (int ib = 0; ib < BlockIQ4_XS.SubBlocks; ib++)
        {
            var packed = Vector128.Load(w.Block->Qs + 16 * ib);
            var lo = Vector128.ShuffleNative(table, (packed & Vector128.Create((byte)0x0F)).AsSByte());
            var hi = Vector128.ShuffleNative(table, Vector128.ShiftRightLogical(packed, 4).AsSByte());
            var q = x.Block->Qs + 32 * ib;
            var sumi = Int8Dot.Portable(lo, Vector128.Load(q)) + Int8Dot.Portable(hi, Vector128.Load(q + 16));
            // Lane 0 of the scales is sub-block ib's; then rotate the next one down.
            sums += sumi * (int)scales.ToScalar();
            scales = Vector128.Shuffle(scales, Vector128.Create((short)1, 2, 3, 4, 5, 6, 7, 0));
        }
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(w.D * x.Block->D), acc);
    }
}
