using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Quants;

/// <summary>
/// SIMD helpers the K-quant primitives share (Q4_K, Q5_K, Q6_K; the 256-bit lane order also Q2_K, Q3_K and IQ4_XS),
/// among them the lane order that makes their float results equal to llama.cpp's vec_dot (Q4_K follows llama.cpp's
/// repacked product instead, Q4_KRepackedOrder, and takes only the integer helpers).
/// <para>llama.cpp's x86 K-quant dot products (the AVX2 branches of ggml_vec_dot_q{5,6}_K_q8_K, also used by AVX-512
/// builds) keep per super-block 8 exact int32 lanes, lane k = the values with (e % 32) / 4 == k, and do
/// acc = fma(d, float(lane), acc) in 8 float lanes; Q5_K adds its mins in one float (summs); the result is
/// hsum_float_8(acc) [+ summs]. hsum_float_8 adds (a0 + a4) + (a2 + a6) and (a1 + a5) + (a3 + a7); the kernels'
/// Vector256/512.Sum adds neighbours ((L0 + L1) + (L2 + L3)) + ..., lower half then upper half. So storing a0, a4, a2,
/// a6, a1, a5, a3, a7 in lanes 0-7 and the min sum in lane 8, with zeros after, makes one FMA per super-block and the
/// final Sum perform exactly llama.cpp's float operations (given one accumulator per row, as every kernel has). A 256-bit
/// accumulator takes the 8 lanes in the same order and keeps the min sum beside them (LanesAndSumms). Q2_K, Q3_K and
/// IQ4_XS have the same 8 lanes (Q2_K adds its mins into them first, lane k = sub-blocks 2k, 2k + 1).</para>
/// </summary>
internal static unsafe class KQuantSimd
{
    /// <summary>
    /// acc + [d * llama.cpp's 8 lanes | dmin * its 4 min lanes | 0]: <paramref name="sums"/> holds the integer sums of
    /// the values 32j + 4k..4k+3 in lane k (k &lt; 8) and of 32j + 16 + 4k..4k+3 in lane 8 + k, which added give
    /// llama.cpp's lane k; <paramref name="mins"/> holds up to 4 integer min lanes, stored m0, m2, m1, m3 (Q5_K: its min
    /// sum in lane 0; Q6_K: none).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAddInLlamaOrder(Vector512<int> sums, Vector128<int> mins, float d, float dmin, Vector512<float> acc)
    {
        var lanes = sums.GetLower() + sums.GetUpper();
        var order = Vector512.Create(0, 4, 2, 6, 1, 5, 3, 7, 16, 18, 17, 19, 20, 20, 20, 20);
        var ints = Avx512F.PermuteVar16x32x2(lanes.ToVector512Unsafe(), order, mins.ToVector256().ToVector512());
        var scales = Avx512F.InsertVector256(Vector512.Create(d), Vector256.Create(dmin), 1);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(ints), scales, acc);
    }

    /// <summary>
    /// Q4_K's and Q5_K's 4 min lanes (Q4_K: M of each pair of sub-blocks) as llama.cpp computes them: min_2p * (bsums[4p] + bsums[4p + 1]) + min_2p+1 *
    /// (bsums[4p + 2] + bsums[4p + 3]) (vphaddw of the bsums, then vpmaddwd with the mins in bytes 8-15).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MinLanes(Vector128<byte> scalesAndMins, BlockQ8_K* a)
    {
        var bsums = Vector256.Load(a->BSums);
        var mins = Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(scalesAndMins, 8));
        return Sse2.MultiplyAddAdjacent(mins, Ssse3.HorizontalAdd(bsums.GetLower(), bsums.GetUpper()));
    }

    /// <summary>acc + d * llama.cpp's 8 lanes, stored in the order that makes Vector256.Sum equal hsum_float_8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAddInLlamaOrder(Vector256<int> lanes, float d, Vector256<float> acc)
    {
        var ints = Avx2.PermuteVar8x32(lanes, Vector256.Create(0, 4, 2, 6, 1, 5, 3, 7));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(ints), Vector256.Create(d), acc);
    }

    /// <summary>
    /// 32 bytes in both 256-bit halves, as int16 lanes (vinserti32x8). Not Avx512F.BroadcastVector256ToVector512:
    /// .NET 10.0.12 encodes its memory form with a wrong compressed displacement (it reads another address when the
    /// offset is not zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ushort> BothHalves(byte* p)
    {
        var v = Vector256.Load(p);
        return Avx512F.InsertVector256(v.ToVector512Unsafe(), v, 1).AsUInt16();
    }

    /// <summary>
    /// Shift counts for the int16 lanes of the low and the high 256-bit half (not built from two Vector256:
    /// .NET 10 does not fold that to a constant).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<ushort> Counts(ushort low, ushort high) => Vector512.Create(
        low, low, low, low, low, low, low, low, low, low, low, low, low, low, low, low,
        high, high, high, high, high, high, high, high, high, high, high, high, high, high, high, high);
}
