using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

/// <summary>Small integer building blocks shared by the quantized primitives.</summary>
internal static class Int8Dot
{
    /// <summary>
    /// Portable signed 8-bit dot product: 16 products of a and b (exact in 16 bits since |q| &lt;= 128) summed into 4
    /// int32 lanes. Cross-platform Vector128 only; the AVX paths use vpmaddubsw/vpmaddwd instead.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Portable(Vector128<sbyte> a, Vector128<sbyte> b)
    {
        var (a0, a1) = Vector128.Widen(a);
        var (b0, b1) = Vector128.Widen(b);
        var (p0, p1) = Vector128.Widen(a0 * b0);
        var (p2, p3) = Vector128.Widen(a1 * b1);
        return (p0 + p1) + (p2 + p3);
    }

    /// <summary>Two per-block scales spread over the 512-bit lanes of two 32-value blocks (8 int32 lanes each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> TwoBlockScales(float d0, float d1) => Vector512.Create(Vector256.Create(d0), Vector256.Create(d1));
}
