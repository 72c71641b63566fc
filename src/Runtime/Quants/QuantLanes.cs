using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Quants;

/// <summary>
/// Helpers of the quantizers that work on 8 sub-blocks at once, one per lane of a vector (the K-quant scale searches,
/// whose per-sub-block sums llama.cpp adds one value after the other: lanes keep each sum's order, a vector across the
/// values of one sub-block would not).
/// </summary>
internal static unsafe class QuantLanes
{
    /// <summary>
    /// ggml's nearest_int lane by lane (<see cref="QuantMath.NearestInt"/>): the same float addition and bit
    /// extraction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> NearestInt(Vector256<float> x) =>
        ((x + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007fffff)) - Vector256.Create(0x00400000);

    /// <summary><see cref="NearestInt"/> clamped to [lo, hi] (ggml's MAX(lo, MIN(hi, l))), back as a float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NearestIntClamped(Vector256<float> x, Vector256<int> lo, Vector256<int> hi) =>
        Vector256.ConvertToSingle(Vector256.Max(lo, Vector256.Min(hi, NearestInt(x))));

    /// <summary>a where mask is set, else b (a per-lane if/else).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) =>
        Vector256.ConditionalSelect(mask, a, b);

    /// <summary>The 8 lanes' low bytes to <paramref name="target"/>[0..7] (values 0..255).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreBytes(Vector256<int> v, byte* target)
    {
        var shorts = Vector256.Narrow(v.AsUInt32(), v.AsUInt32());
        Unsafe.WriteUnaligned(target, Vector256.Narrow(shorts, shorts).AsUInt64().ToScalar());
    }

    /// <summary>
    /// Sub-blocks side by side: t[i] holds x[stride * j + i] in lane j, for i &lt; <paramref name="count"/> and j &lt; 8.
    /// </summary>
    public static void Transpose(float* x, int stride, int count, Vector256<float>* t)
    {
        if (Avx2.IsSupported)
        {
            var offsets = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * stride;
            for (int i = 0; i < count; i++)
                t[i] = Avx2.GatherVector256(x + i, offsets, sizeof(float));
            return;
        }
        for (int i = 0; i < count; i++)
        {
            t[i] = Vector256.Create(x[i], x[stride + i], x[2 * stride + i], x[3 * stride + i],
                x[4 * stride + i], x[5 * stride + i], x[6 * stride + i], x[7 * stride + i]);
        }
    }

    /// <summary>The inverse of <see cref="Transpose"/> for quants held as floats: l[stride * j + i] = lane j of t[i].</summary>
    [SkipLocalsInit]
    public static void Untranspose(Vector256<float>* t, int count, int stride, byte* l)
    {
        int* lanes = stackalloc int[8];
        for (int i = 0; i < count; i++)
        {
            Vector256.ConvertToInt32(t[i]).Store(lanes);
            for (int j = 0; j < 8; j++)
                l[stride * j + i] = (byte)lanes[j];
        }
    }
}
