using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Eight int32 sums of four unsigned x signed byte products each, added to <paramref name="acc"/>: one vpdpbusd
    /// where the CPU has AVX-VNNI, else vpmaddubsw + vpmaddwd. The two agree exactly whenever no 16-bit pair sum of
    /// vpmaddubsw saturates, and every caller's operands keep those below 32767 (each says why).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SumQuads(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s) => Vnni
        ? AvxVnni.MultiplyWideningAndAdd(acc, u, s)
        : acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256<short>.One);

    /// <summary>
    /// Whether <see cref="SumQuads(Vector256{int}, Vector256{byte}, Vector256{sbyte})"/> takes vpdpbusd: where the CPU has
    /// AVX-VNNI, except in the portable AVX2 build (LLAMA_AOT_NO_RUNTIME_VNNI, Directory.Build.props), where that would be
    /// a test at run time in every inner loop instead of a constant.
    /// </summary>
#if LLAMA_AOT_NO_RUNTIME_VNNI
    internal static bool Vnni => false;
#else
    internal static bool Vnni => AvxVnni.IsSupported;
#endif

    /// <summary>Eight int32 sums of four unsigned x signed byte products each (<see cref="SumQuads(Vector256{int}, Vector256{byte}, Vector256{sbyte})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SumQuads(Vector256<byte> u, Vector256<sbyte> s) => SumQuads(Vector256<int>.Zero, u, s);

    /// <summary>
    /// Eight int32 sums of four signed x signed byte products each, for |a| &lt;= 127: |a| meets b with a's signs
    /// (pair sums at most 2 * 127 * 128 = 32512, so vpmaddubsw cannot saturate).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SumQuadsSigned(Vector256<sbyte> a, Vector256<sbyte> b) => SumQuads(Avx2.Abs(a), Avx2.Sign(b, a));

    /// <summary>Two per-block scales spread over the 512-bit lanes of two 32-value blocks (8 int32 lanes each).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> TwoBlockScales(float d0, float d1) => Join(Vector256.Create(d0), Vector256.Create(d1));

    /// <summary>
    /// lower | upper as one 512-bit vector, in registers (vinserti32x8). Vector512.Create(lower, upper) is the same
    /// value, but .NET 10's code generator built it through a stack slot in the kernels' loops: a store and a
    /// reload per call that cost the Q8_0 matrix-vector kernel more than its arithmetic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Join<T>(Vector256<T> lower, Vector256<T> upper) =>
        Avx512F.InsertVector256(lower.ToVector512Unsafe().AsInt32(), upper.AsInt32(), 1).As<int, T>();
}
