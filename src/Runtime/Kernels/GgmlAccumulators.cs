using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

// llama.cpp's AVX2 dot products for Q4_1, Q5_1 and Q5_K (which its AVX-512 builds run too) keep a second
// float sum beside their 8-lane accumulator and add it after hsum_float_8. A 256-bit accumulator has no lane to
// spare for it, so the AVX2 primitives of those types accumulate in one of these (the generator starts each dot
// product at Zero and ends it with Sum, see KernelPrimitivesAttribute). With the 8 lanes in GgmlLanes' layout,
// Vector256.Sum is hsum_float_8, and Sum performs exactly llama.cpp's float operations.

/// <summary>ggml's 8 lanes (in <see cref="GgmlLanes"/>' layout) and its <c>summs</c>: Q4_1, Q5_1 (offsets m * s), Q5_K (mins).</summary>
internal readonly struct LanesAndSumms(Vector256<float> lanes, float summs)
{
    public readonly Vector256<float> Lanes = lanes;
    public readonly float Summs = summs;

    public static LanesAndSumms Zero => default;

    /// <summary>hsum_float_8(acc) + summs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(LanesAndSumms acc) => Vector256.Sum(acc.Lanes) + acc.Summs;
}

/// <summary>
/// The two float sums llama.cpp's repacked Q4_K products keep per output (ggml_gemv_q4_K_8x8_q8_K and
/// ggml_gemm_q4_K_8x8_q8_K, see <see cref="Quants.Q4_KRepackedOrder"/>): lane 0 the scale terms <c>acc</c>, lane 1 the
/// min terms <c>acc_min</c>, each advanced by its own FMAs; the product is acc - acc_min. Lanes 2 and 3 stay zero.
/// </summary>
internal readonly struct ScaleAndMinSums(Vector128<float> sums)
{
    public readonly Vector128<float> Sums = sums;

    public static ScaleAndMinSums Zero => default;

    /// <summary>acc - acc_min.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(ScaleAndMinSums acc) => acc.Sums.GetElement(0) - acc.Sums.GetElement(1);
}

/// <summary><see cref="ScaleAndMinSums"/> of the 16 rows of an interleaved group: lane r of each vector is row r's.</summary>
internal readonly struct RowScaleAndMinSums(Vector512<float> scales, Vector512<float> mins)
{
    public readonly Vector512<float> Scales = scales;
    public readonly Vector512<float> Mins = mins;

    public static RowScaleAndMinSums Zero => default;
}

/// <summary><see cref="ScaleAndMinSums"/> of the 8 rows of a 256-bit interleaved group: lane r of each vector is row r's.</summary>
internal readonly struct RowScaleAndMinSums8(Vector256<float> scales, Vector256<float> mins)
{
    public readonly Vector256<float> Scales = scales;
    public readonly Vector256<float> Mins = mins;

    public static RowScaleAndMinSums8 Zero => default;
}

/// <summary>
/// llama.cpp's 8 float lanes of ggml_vec_dot_q6_K_q8_K (see <see cref="Quants.KQuantSimd"/>) for the 16 rows of an
/// interleaved group: vector k holds lane k of every row, each advanced by its own FMA per super-block; Sum is
/// hsum_float_8 of each row, ((L0 + L4) + (L2 + L6)) + ((L1 + L5) + (L3 + L7)), in vertical adds.
/// </summary>
internal readonly struct RowLanes8(Vector512<float> l0, Vector512<float> l1, Vector512<float> l2, Vector512<float> l3,
    Vector512<float> l4, Vector512<float> l5, Vector512<float> l6, Vector512<float> l7)
{
    public readonly Vector512<float> L0 = l0, L1 = l1, L2 = l2, L3 = l3, L4 = l4, L5 = l5, L6 = l6, L7 = l7;

    public static RowLanes8 Zero => default;

    public Vector512<float> Sum => ((L0 + L4) + (L2 + L6)) + ((L1 + L5) + (L3 + L7));
}

/// <summary><see cref="RowLanes8"/> of the 8 rows of a 256-bit interleaved group.</summary>
internal readonly struct RowLanes8x256(Vector256<float> l0, Vector256<float> l1, Vector256<float> l2, Vector256<float> l3,
    Vector256<float> l4, Vector256<float> l5, Vector256<float> l6, Vector256<float> l7)
{
    public readonly Vector256<float> L0 = l0, L1 = l1, L2 = l2, L3 = l3, L4 = l4, L5 = l5, L6 = l6, L7 = l7;

    public static RowLanes8x256 Zero => default;

    public Vector256<float> Sum => ((L0 + L4) + (L2 + L6)) + ((L1 + L5) + (L3 + L7));
}

/// <summary>
/// ggml's 8 float lanes of each of the 4 rows of a 256-bit group (vector r: row r's lanes, in value order), for dot
/// products that keep llama.cpp's per-row lanes (Q8_0); Store reduces each row with hsum_float_8.
/// </summary>
internal readonly struct Lanes4PerRow(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3)
{
    public readonly Vector256<float> R0 = r0, R1 = r1, R2 = r2, R3 = r3;

    public static Lanes4PerRow Zero => default;

    /// <summary>y[r] = hsum_float_8 of row r, for the first <paramref name="count"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Store(float* y, int count)
    {
        if (count >= 4)
        {
            y[0] = GgmlLanes.Sum(R0); y[1] = GgmlLanes.Sum(R1); y[2] = GgmlLanes.Sum(R2); y[3] = GgmlLanes.Sum(R3);
            return;
        }
        y[0] = GgmlLanes.Sum(R0);
        if (count > 1)
            y[1] = GgmlLanes.Sum(R1);
        if (count > 2)
            y[2] = GgmlLanes.Sum(R2);
    }
}

/// <summary>
/// ggml's 8 float lanes in value order as two 128-bit halves (lanes 0..3, lanes 4..7), for the portable path: the
/// same float operations as an AVX2 build's 256-bit accumulator, fused multiply-adds and hsum_float_8
/// ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)), so the portable kernels give llama.cpp's x86 results too.
/// </summary>
internal readonly struct Lanes8x128(Vector128<float> low, Vector128<float> high)
{
    public readonly Vector128<float> Low = low;
    public readonly Vector128<float> High = high;

    public static Lanes8x128 Zero => default;

    /// <summary>acc + w * x, fused, lane by lane (lanes 0..3 from the low halves, 4..7 from the high ones).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8x128 MulAdd(Vector128<float> wLow, Vector128<float> wHigh, Vector128<float> xLow, Vector128<float> xHigh, Lanes8x128 acc) =>
        new(Vector128.FusedMultiplyAdd(wLow, xLow, acc.Low), Vector128.FusedMultiplyAdd(wHigh, xHigh, acc.High));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes8x128 acc)
    {
        var s = acc.Low + acc.High;
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }
}
