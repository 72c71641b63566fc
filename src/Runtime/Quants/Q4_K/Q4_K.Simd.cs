using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q4_K weights x Q8_K activations, one 256-value super-block per step, in the float order of llama.cpp's repacked
// matrix-matrix product, ggml_gemm's, for every token (Q4_KRepackedOrder). The nibbles stay unsigned for
// vpmaddubsw (a pair sum is at most 2 * 15 * 127); vpmaddwd applies the 6-bit sub-block scales; the integer sum of
// each pair of sub-blocks (64 values) is exact. Their mins meet the activations' bsums (KQuantSimd.MinLanes).
// These kernels keep the file's layout (Q4_K.Interleaved.cs repacks); Q5_K shares their helpers.
// The steps are plain pointers and MulAdd does all the work: see Q6_K.Simd.cs for why.

[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemmRows = 2, GemmColumns = 4)]
internal static unsafe class Q4_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ4_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScaleAndMinSums MulAdd(byte* w, byte* x, ScaleAndMinSums acc) => Q4_KRepackedOrder.MulAdd(SuperBlock((BlockQ4_K*)w, (BlockQ8_K*)x), acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Q4_KRepackedOrder.SuperBlock SuperBlock(BlockQ4_K* b, BlockQ8_K* a)
    {
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        return new(PairSums(b, a, scalesAndMins), KQuantSimd.MinLanes(scalesAndMins, a), b, a);
    }

    /// <summary>S of each pair of sub-blocks (chunk c = sub-blocks 2c and 2c + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairSums(BlockQ4_K* b, BlockQ8_K* a, Vector128<byte> scalesAndMins)
    {
        var table = Avx2.ConvertToVector256Int16(scalesAndMins).ToVector512Unsafe(); // int16: scales 0..7, mins 0..7
        return Vector128.Create(
            Vector512.Sum(Chunk(Nibbles(b->Qs), a->Qs, table, 0)), Vector512.Sum(Chunk(Nibbles(b->Qs + 32), a->Qs + 64, table, 1)),
            Vector512.Sum(Chunk(Nibbles(b->Qs + 64), a->Qs + 128, table, 2)), Vector512.Sum(Chunk(Nibbles(b->Qs + 96), a->Qs + 192, table, 3)));
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

}

[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Avx2)]
internal static unsafe class Q4_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ4_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    /// <summary>S of each pair of sub-blocks, the chunks' lanes reduced by three vphaddd and one add; one FMA per pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScaleAndMinSums MulAdd(byte* w, byte* x, ScaleAndMinSums acc)
    {
        var b = (BlockQ4_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var (c0, c1, c2, c3) = Chunks(b, a, scalesAndMins);
        var sums = Avx2.HorizontalAdd(Avx2.HorizontalAdd(c0, c1), Avx2.HorizontalAdd(c2, c3)); // per 128-bit half: chunk 0..3's lanes
        return Q4_KRepackedOrder.MulAdd(new(sums.GetLower() + sums.GetUpper(), KQuantSimd.MinLanes(scalesAndMins, a), b, a), acc);
    }

    /// <summary>The 8 int32 lanes of each chunk c (sub-blocks 2c and 2c + 1), scales applied.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int>, Vector256<int>, Vector256<int>, Vector256<int>) Chunks(BlockQ4_K* b, BlockQ8_K* a, Vector128<byte> scalesAndMins)
    {
        var scales = Scales(scalesAndMins);
        var nibble = Vector256.Create((byte)0x0F);
        var q0 = Vector256.Load(b->Qs);
        var q1 = Vector256.Load(b->Qs + 32);
        var q2 = Vector256.Load(b->Qs + 64);
        var q3 = Vector256.Load(b->Qs + 96);
        return (Chunk(q0 & nibble, Vector256.ShiftRightLogical(q0.AsUInt16(), 4).AsByte() & nibble, a->Qs, scales, 0),
            Chunk(q1 & nibble, Vector256.ShiftRightLogical(q1.AsUInt16(), 4).AsByte() & nibble, a->Qs + 64, scales, 1),
            Chunk(q2 & nibble, Vector256.ShiftRightLogical(q2.AsUInt16(), 4).AsByte() & nibble, a->Qs + 128, scales, 2),
            Chunk(q3 & nibble, Vector256.ShiftRightLogical(q3.AsUInt16(), 4).AsByte() & nibble, a->Qs + 192, scales, 3));
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

[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Portable)]
internal static unsafe class Q4_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ4_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScaleAndMinSums MulAdd(byte* w, byte* x, ScaleAndMinSums acc) => Q4_KRepackedOrder.MulAdd(SuperBlock((BlockQ4_K*)w, (BlockQ8_K*)x), acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Q4_KRepackedOrder.SuperBlock SuperBlock(BlockQ4_K* b, BlockQ8_K* a)
    {
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        return new(PairSums(b, a, scalesAndMins), MinSums(scalesAndMins, a), b, a);
    }

    /// <summary>S of each pair of sub-blocks (chunk c = sub-blocks 2c and 2c + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairSums(BlockQ4_K* b, BlockQ8_K* a, Vector128<byte> scalesAndMins)
    {
        var nibble = Vector128.Create((byte)0x0F);
        var pairs = Vector128<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            var q0 = Vector128.Load(b->Qs + 32 * c);
            var q1 = Vector128.Load(b->Qs + 32 * c + 16);
            var sums = Dot32(q0 & nibble, q1 & nibble, a->Qs + 64 * c) * scalesAndMins.GetElement(2 * c)
                + Dot32(Vector128.ShiftRightLogical(q0, 4), Vector128.ShiftRightLogical(q1, 4), a->Qs + 64 * c + 32) * scalesAndMins.GetElement(2 * c + 1);
            pairs = pairs.WithElement(c, Vector128.Sum(sums));
        }
        return pairs;
    }

    /// <summary>M of each pair of sub-blocks: min_j * (bsums[2j] + bsums[2j + 1]) for j = 2p, 2p + 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MinSums(Vector128<byte> scalesAndMins, BlockQ8_K* a)
    {
        var mins = Vector128<int>.Zero;
        for (int p = 0; p < 4; p++)
        {
            int m = 0;
            for (int j = 2 * p; j < 2 * p + 2; j++)
                m += scalesAndMins.GetElement(8 + j) * (a->BSums[2 * j] + a->BSums[2 * j + 1]);
            mins = mins.WithElement(p, m);
        }
        return mins;
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

    /// <summary>
    /// Q5_K's portable step: acc + (d * d_x) * sums, then the min term -(dmin * d_x) * sum_j min_j * (bsums[2j] +
    /// bsums[2j + 1]) in lane 0.
    /// </summary>
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
