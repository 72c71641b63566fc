using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

/// <summary>
/// e^x as ggml's vector expf computes it in llama.cpp's AVX2 build (ggml_v_expf's __m256 form in ggml-cpu's vec.h, an
/// ARM optimized-routines port, within 1.5 ulp): n = round(x * log2 e), b = x - n ln 2 (ln 2 in two parts), e^b - 1 by
/// a polynomial j, then k + j k with k = 2^n, rounded once; for |n| past 126 the scaling is split in two, and past 192
/// the result is 0 or infinity. It differs from the C library's expf by an ulp in about half the values, and from the
/// AVX-512 form (which rounds 1 + j before scaling) in about a quarter; those ulps decide which way an activation rounds
/// to 8 bits, so the softmax and SwiGLU, which llama.cpp runs on this, use it rather than <see cref="ExpF"/>.
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
    private const uint Negative = 0x82000000u, Half = 0x7f000000u;       // ggml's split of 2^n for |n| > 126

    /// <summary>The definition: one value, each step rounded as ggml's vector code rounds it (fused where it fuses).</summary>
    public static float Reference(float x)
    {
        float z = MathF.FusedMultiplyAdd(x, Log2E, Shifter), n = z - Shifter;
        float b = MathF.FusedMultiplyAdd(-n, Ln2Lo, MathF.FusedMultiplyAdd(-n, Ln2Hi, x));
        uint e = BitConverter.SingleToUInt32Bits(z) << 23;
        float k = BitConverter.UInt32BitsToSingle(e + BitConverter.SingleToUInt32Bits(1f)); // 2^n while |n| <= 126
        float u = b * b;
        float j = MathF.FusedMultiplyAdd(
            MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(C5, b, C4), u, MathF.FusedMultiplyAdd(C3, b, C2)),
            u,
            C1 * b);
        if (!(MathF.Abs(n) > 126))
            return MathF.FusedMultiplyAdd(j, k, k);
        uint g = n <= 0 ? Negative : 0;
        float s1 = BitConverter.UInt32BitsToSingle(g + Half), s2 = BitConverter.UInt32BitsToSingle(e - g);
        return MathF.Abs(n) > 192 ? s1 * s1 : MathF.FusedMultiplyAdd(s2, j, s2) * s1;
    }

    /// <summary>Eight values at once, bit for bit <see cref="Reference"/> on every instruction set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var shifter = Vector256.Create(Shifter);
        var z = Vector256.FusedMultiplyAdd(x, Vector256.Create(Log2E), shifter);
        var n = z - shifter;
        var b = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo), Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), x));
        var e = z.AsUInt32() << 23;
        var k = (e + Vector256.Create(1f).AsUInt32()).AsSingle();
        var u = b * b;
        var j = Vector256.FusedMultiplyAdd(
            Vector256.FusedMultiplyAdd(
                Vector256.FusedMultiplyAdd(Vector256.Create(C5), b, Vector256.Create(C4)), u,
                Vector256.FusedMultiplyAdd(Vector256.Create(C3), b, Vector256.Create(C2))),
            u,
            Vector256.Create(C1) * b);
        var near = Vector256.FusedMultiplyAdd(j, k, k);
        var magnitude = Vector256.Abs(n);
        var far = Vector256.GreaterThan(magnitude, Vector256.Create(126f));
        if (far == Vector256<float>.Zero)
            return near;
        var g = Vector256.LessThanOrEqual(n, Vector256<float>.Zero).AsUInt32() & Vector256.Create(Negative);
        var s1 = (g + Vector256.Create(Half)).AsSingle();
        var s2 = (e - g).AsSingle();
        var beyond = Vector256.GreaterThan(magnitude, Vector256.Create(192f));
        return Vector256.ConditionalSelect(beyond, s1 * s1,
            Vector256.ConditionalSelect(far, Vector256.FusedMultiplyAdd(s2, j, s2) * s1, near));
    }
}
