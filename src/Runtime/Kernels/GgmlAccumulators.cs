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
