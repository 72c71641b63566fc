using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

/// <summary>
/// e^x for a vector of floats, computed in double and rounded to float: the C library's expf to within one ulp in a
/// few values per ten thousand (a single-precision vector exp is off by an ulp far more often). llama.cpp's softmax
/// and SiLU feed 8-bit activation rounding, where an ulp can flip a quant, so this is what keeps logits at float
/// rounding from llama.cpp's (tests/LlamaAot.Tests/Model/ReferenceLogitsTests).
/// </summary>
internal static class ExpF
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var (lo, hi) = Vector256.Widen(x);
        return Vector256.Narrow(Vector256.Exp(lo), Vector256.Exp(hi));
    }
}
