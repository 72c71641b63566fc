using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

// llama.cpp's AVX2 dot products for Q4_1, Q5_1, Q4_K and Q5_K (which its AVX-512 builds run too) keep a second
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

/// <summary>ggml's 8 lanes (in <see cref="GgmlLanes"/>' layout) and Q4_K's 4 min lanes <c>acc_m</c>, in llama.cpp's order m0..m3.</summary>
internal readonly struct LanesAndMins(Vector256<float> lanes, Vector128<float> mins)
{
    public readonly Vector256<float> Lanes = lanes;
    public readonly Vector128<float> Mins = mins;

    public static LanesAndMins Zero => default;

    /// <summary>hsum_float_8(acc) + ((m0 + m2) + (m1 + m3)), llama.cpp's movehl / movehdup reduction of acc_m.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(LanesAndMins acc)
    {
        var m = acc.Mins;
        return Vector256.Sum(acc.Lanes) + ((m.GetElement(0) + m.GetElement(2)) + (m.GetElement(1) + m.GetElement(3)));
    }
}

/// <summary>
/// ggml's 8 float lanes in value order (lane i: the products of values i, i + 8, i + 16, ...), reduced by hsum_float_8
/// (<see cref="GgmlLanes.Sum"/>): the accumulator of llama.cpp's tinyBLAS for F32 and F16 weights on an AVX2 build
/// (tinyBLAS&lt;8, __m256&gt;: <c>acc = fma(w, x, acc)</c> per 8 values, then <c>hsum</c>, the same tree). Vector256.Sum
/// adds the lanes in another order, hence the type.
/// </summary>
internal readonly struct Lanes8(Vector256<float> lanes)
{
    public readonly Vector256<float> Lanes = lanes;

    public static Lanes8 Zero => default;

    /// <summary>acc + w * x, fused, lane by lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8 MulAdd(Vector256<float> w, Vector256<float> x, Lanes8 acc) => new(Vector256.FusedMultiplyAdd(w, x, acc.Lanes));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Lanes8 acc) => GgmlLanes.Sum(acc.Lanes);
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
