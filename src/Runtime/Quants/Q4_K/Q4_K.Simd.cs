using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q4_K weights x Q8_K activations (ggml_vec_dot_q4_K_q8_K), one 256-value super-block per step. The nibbles stay
// unsigned for vpmaddubsw (a pair sum is at most 2 * 15 * 127); vpmaddwd applies the 6-bit sub-block scales. The
// mins meet the activations' bsums: sum_j min_j * (bsums[2j] + bsums[2j + 1]), one vpmaddwd. All integer sums are
// exact and land in llama.cpp's lanes; the float operations, with d * d_x and -(dmin * d_x) (one float multiply
// each), are llama.cpp's on AVX-512 and AVX2 (KQuantSimd; on AVX2 the 4 min lanes beside the 8, LanesAndMins) and
// two FMAs per super-block on the portable path.
// The steps are plain pointers and MulAdd does all the work: see Q6_K.Simd.cs for why. Q5_K shares the helpers.

[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemvUnroll = 1, GemmRows = 2, GemmColumns = 4)]
internal static unsafe class Q4_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ4_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(byte* w, byte* x, Vector512<float> acc)
    {
        var b = (BlockQ4_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var table = Avx2.ConvertToVector256Int16(scalesAndMins).ToVector512Unsafe(); // int16: scales 0..7, mins 0..7
        var sums = Vector512<int>.Zero;
        for (int c = 0; c < 4; c++)
            sums += Chunk(Nibbles(b->Qs + 32 * c), a->Qs + 64 * c, table, c);
        return Combine(sums, scalesAndMins, b->D, b->DMin, a, acc);
    }

    /// <summary>
    /// Values 64c..64c+63 in order from the 32 bytes of chunk c: the bytes in both 256-bit halves; the low half
    /// keeps the low nibbles, the high half the high nibbles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<byte> Nibbles(byte* qs) =>
        Avx512BW.ShiftRightLogicalVariable(KQuantSimd.BothHalves(qs), KQuantSimd.Counts(0, 4)).AsByte() & Vector512.Create((byte)0x0F);

    /// <summary>
    /// 64 quants (0..31) of chunk c times their activations, each int16 pair sum times its sub-block scale
    /// (sub-block 2c in the low 256-bit half, 2c + 1 in the high half, picked from the int16 table by vpermw).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<int> Chunk(Vector512<byte> q, sbyte* x, Vector512<short> table, int c)
    {
        var pick = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var scale = Avx512BW.PermuteVar32x16(table, pick + Vector512.Create((short)(2 * c)));
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(x)), scale);
    }

    /// <summary>acc + (d * d_x) * sums - (dmin * d_x) * mins, in llama.cpp's lanes and order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Combine(Vector512<int> sums, Vector128<byte> scalesAndMins, ushort d, ushort dmin, BlockQ8_K* a, Vector512<float> acc) =>
        KQuantSimd.MulAddInLlamaOrder(sums, KQuantSimd.MinLanes(scalesAndMins, a), Fp16.HalfBitsToSingle(d) * a->D, -(Fp16.HalfBitsToSingle(dmin) * a->D), acc);
}

[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemvUnroll = 1)]
internal static unsafe class Q4_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ4_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesAndMins MulAdd(byte* w, byte* x, LanesAndMins acc)
    {
        var b = (BlockQ4_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var scales = Scales(scalesAndMins);
        var nibble = Vector256.Create((byte)0x0F);
        var sums = Vector256<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            var q = Vector256.Load(b->Qs + 32 * c);
            sums += Chunk(q & nibble, Vector256.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & nibble, a->Qs + 64 * c, scales, c);
        }
        // llama.cpp: acc_m = fma(dmin, float(min lanes), acc_m) beside acc = fma(d, float(lanes), acc).
        float dmin = -(Fp16.HalfBitsToSingle(b->DMin) * a->D);
        var mins = Vector128.FusedMultiplyAdd(Vector128.Create(dmin), Vector128.ConvertToSingle(KQuantSimd.MinLanes(scalesAndMins, a)), acc.Mins);
        return new(KQuantSimd.MulAddInLlamaOrder(sums, Fp16.HalfBitsToSingle(b->D) * a->D, acc.Lanes), mins);
    }

    /// <summary>The 8 scales as int16 in both 128-bit lanes (for vpshufb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<short> Scales(Vector128<byte> scalesAndMins)
    {
        var wide = Avx2.ConvertToVector256Int16(scalesAndMins); // int16: scales 0..7 | mins 0..7
        return Avx2.Permute2x128(wide, wide, 0);
    }

    /// <summary>
    /// 64 values of chunk c: quants lo (sub-block 2c) and hi (sub-block 2c + 1) times the activations, each int16
    /// pair sum times its scale (vpshufb spreads int16 scale j over every lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Chunk(Vector256<byte> lo, Vector256<byte> hi, sbyte* x, Vector256<short> scales, int c)
    {
        var pick = Vector256.Create((ushort)(4 * c | (4 * c + 1) << 8)).AsByte();
        var loScale = Avx2.Shuffle(scales.AsByte(), pick).AsInt16();
        var hiScale = Avx2.Shuffle(scales.AsByte(), pick + Vector256.Create((byte)2)).AsInt16();
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(lo, Vector256.Load(x)), loScale)
            + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(hi, Vector256.Load(x + 32)), hiScale);
    }
}

[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Portable, GemvUnroll = 1)]
internal static unsafe class Q4_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ4_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(byte* w, byte* x, Vector128<float> acc)
    {
        var b = (BlockQ4_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var nibble = Vector128.Create((byte)0x0F);
        var sums = Vector128<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            var q0 = Vector128.Load(b->Qs + 32 * c);
            var q1 = Vector128.Load(b->Qs + 32 * c + 16);
            sums += Dot32(q0 & nibble, q1 & nibble, a->Qs + 64 * c) * scalesAndMins.GetElement(2 * c)
                + Dot32(Vector128.ShiftRightLogical(q0, 4), Vector128.ShiftRightLogical(q1, 4), a->Qs + 64 * c + 32) * scalesAndMins.GetElement(2 * c + 1);
        }
        return Combine(sums, scalesAndMins, b->D, b->DMin, a, acc);
    }

    /// <summary>
    /// 32 quants (0..31) times 32 activations, summed into 4 int32 lanes. A product is at most 31 * 127 and a sum
    /// of 4 of them fits int16, so the products are summed in int16 before one widening (cheaper than
    /// <see cref="Int8Dot.Portable"/>, and without its tuples).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> Dot32(Vector128<byte> q0, Vector128<byte> q1, sbyte* x)
    {
        var x0 = Vector128.Load(x);
        var x1 = Vector128.Load(x + 16);
        var p = Vector128.WidenLower(q0.AsSByte()) * Vector128.WidenLower(x0) + Vector128.WidenUpper(q0.AsSByte()) * Vector128.WidenUpper(x0)
            + Vector128.WidenLower(q1.AsSByte()) * Vector128.WidenLower(x1) + Vector128.WidenUpper(q1.AsSByte()) * Vector128.WidenUpper(x1);
        return Vector128.WidenLower(p) + Vector128.WidenUpper(p);
    }

    /// <summary>acc + (d * d_x) * sums, then the min term -(dmin * d_x) * sum_j min_j * (bsums[2j] + bsums[2j + 1]) in lane 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Combine(Vector128<int> sums, Vector128<byte> scalesAndMins, ushort d, ushort dmin, BlockQ8_K* a, Vector128<float> acc)
    {
        int mins = 0;
        for (int j = 0; j < 8; j++)
            mins += scalesAndMins.GetElement(8 + j) * (a->BSums[2 * j] + a->BSums[2 * j + 1]);
        acc = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(Fp16.HalfBitsToSingle(d) * a->D), acc);
        return Vector128.MultiplyAddEstimate(Vector128.CreateScalar((float)mins), Vector128.Create(-(Fp16.HalfBitsToSingle(dmin) * a->D)), acc);
    }
}
