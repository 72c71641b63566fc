using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

/// <summary>
/// e^x as ggml's vector expf computes it (ggml_v_expf in ggml-cpu's vec.h, the AVX-512 form that llama.cpp's
/// reference builds run; an ARM optimized-routines port, within 1.5 ulp): n = round(x * log2 e), b = x - n ln 2 (ln 2 in
/// two parts), e^b by a degree-5 polynomial, then scaled by 2^n; 0 or infinity once |n| passes 192. It differs from the
/// C library's expf by an ulp in about a quarter of the values, and those ulps decide which way an activation rounds
/// to 8 bits (llama.cpp 0.5.0's SwiGLU runs it on every whole group of 16 values), so code that must round as
/// llama.cpp does uses this rather than <see cref="ExpF"/>.
/// </summary>
internal static class GgmlExpF
{
    // The constants, exactly (ggml writes them as hex floats).
    private const float Shifter = 12582912f;                             // 0x1.8p23: adding it rounds to an integer
    private const float Log2E = 1.44269502162933349609375f;              // 0x1.715476p+0
    private const float Ln2Hi = 0.693145751953125f;                      // 0x1.62e4p-1
    private const float Ln2Lo = 0.000001428606765330187045037746429443359375f; // 0x1.7f7d1cp-20
    private const float C5 = 0.00824739038944244384765625f;              // 0x1.0e4020p-7
    private const float C4 = 0.0418997667729854583740234375f;            // 0x1.573e2ep-5
    private const float C3 = 0.16668395698070526123046875f;              // 0x1.555e66p-3
    private const float C2 = 0.4999912679195404052734375f;               // 0x1.fffdb6p-2
    private const float C1 = 0.99999940395355224609375f;                 // 0x1.ffffecp-1

    /// <summary>The definition: one value, each step rounded as ggml's vector code rounds it (fused where it fuses).</summary>
    public static float Reference(float x)
    {
        float n = MathF.FusedMultiplyAdd(x, Log2E, Shifter) - Shifter;
        float b = MathF.FusedMultiplyAdd(-n, Ln2Lo, MathF.FusedMultiplyAdd(-n, Ln2Hi, x));
        float u = b * b;
        float j = MathF.FusedMultiplyAdd(
            MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C5, b, C4), u, MathF.FusedMultiplyAdd(C3, b, C2)),
            u,
            MathF.FusedMultiplyAdd(C1, b, 1f));
        if (MathF.Abs(n) > 192)
            return n <= 0 ? 0 : float.PositiveInfinity;
        return MathF.ScaleB(j, (int)n); // _mm512_scalef_ps: j * 2^n, rounded once
    }

    /// <summary>Eight values at once, bit for bit <see cref="Reference"/> on every instruction set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var shifter = Vector256.Create(Shifter);
        var n = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), shifter) - shifter;
        var b = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo), Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), x));
        var u = b * b;
        var j = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(
                Vector256.FusedMultiplyAdd(Vector256.Create(C5), b, Vector256.Create(C4)), u,
                Vector256.FusedMultiplyAdd(Vector256.Create(C3), b, Vector256.Create(C2))),
            u,
            Vector256.FusedMultiplyAdd(Vector256.Create(C1), b, Vector256<float>.One));
        // j * 2^n in two exact power-of-two steps (2^(n/2) each stays a normal float for |n| <= 192), so the only
        // rounding is the last product's, where the result may be subnormal: scalef's single rounding.
        var clamped = Vector256.Clamp(n, Vector256.Create(-192f), Vector256.Create(192f));
        var half = Vector256.ConvertToInt32(Vector256.Floor(clamped * Vector256.Create(0.5f)));
        var rest = Vector256.ConvertToInt32(clamped) - half;
        var res = j * PowerOfTwo(half) * PowerOfTwo(rest);
        var beyond = Vector256.GreaterThan(Vector256.Abs(n), Vector256.Create(192f));
        var overflow = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(n, Vector256<float>.Zero), Vector256<float>.Zero, Vector256.Create(float.PositiveInfinity));
        return Vector256.ConditionalSelect(beyond, overflow, res);
    }

    /// <summary>2^e for integer e in [-126, 127], built from its exponent bits.</summary>
    private static Vector256<float> PowerOfTwo(Vector256<int> e) => ((e + Vector256.Create(127)) << 23).AsSingle();
}
