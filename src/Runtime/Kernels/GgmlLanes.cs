using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels;

/// <summary>
/// ggml's lane layout for 32-value blocks on x86 (the AVX2 vec_dot kernels, which llama.cpp's AVX-512 builds run
/// too), arranged so that a generated kernel reproduces ggml's float result bit for bit.
/// <para>ggml keeps one 8-lane float accumulator per dot product: lane k collects, block after block, the exact
/// integer sum of values 4k..4k+3 times the block scale (<c>acc = fma(d, float(lane sums), acc)</c>), and
/// <c>hsum_float_8</c> reduces it as ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)). The generated kernels reduce
/// a Vector256 accumulator with Vector256.Sum, which on .NET 10 adds ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)),
/// and a Vector512 one as Sum(lower) + Sum(upper). Holding ggml's lanes in the order <see cref="Order"/>
/// (0, 4, 2, 6, 1, 5, 3, 7) makes the two trees add the same numbers in the same order. A primitive that uses this
/// layout, one block per step and one accumulator per dot product therefore returns exactly what
/// ggml returns. The format tests pin this against a scalar model of ggml's kernel.</para>
/// </summary>
internal static class GgmlLanes
{
    /// <summary>Lane g of the layout holds ggml's lane Order[g], i.e. the products of values 4 * Order[g] .. + 3.</summary>
    public static ReadOnlySpan<int> Order => [0, 4, 2, 6, 1, 5, 3, 7];

    /// <summary>32 signed bytes in value order to the lane layout (activations: once per step, shared by all rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> FromValueOrder(Vector256<sbyte> values) =>
        Avx2.PermuteVar8x32(values.AsInt32(), Vector256.Create(0, 4, 2, 6, 1, 5, 3, 7)).AsSByte();

    /// <summary>
    /// 16 bytes of packed nibbles (byte j: value j in the low nibble, value j + 16 in the high nibble) to 32 values
    /// 0..15 in the lane layout. Packed dword p holds values 4p..4p+3 (low nibbles, ggml lane p) and 16 + 4p..
    /// (high nibbles, ggml lane p + 4), so the layout is packed dwords 0, 0, 2, 2, 1, 1, 3, 3 with every second one
    /// shifted right by 4 (bits a shift moves across bytes land in the high nibble, which the mask clears).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(Vector128<byte> packed)
    {
        var spread = Avx2.PermuteVar8x32(packed.ToVector256Unsafe().AsInt32(), Vector256.Create(0, 0, 2, 2, 1, 1, 3, 3));
        var shifted = Avx2.ShiftRightLogicalVariable(spread.AsUInt32(), Vector256.Create(0u, 4, 0, 4, 0, 4, 0, 4));
        return shifted.AsByte() & Vector256.Create((byte)0x0F);
    }

    /// <summary>
    /// ggml's <c>hsum_float_8</c> of lanes in ggml's own order (value order, no <see cref="Order"/> permutation):
    /// ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)), for kernels that reduce their accumulators themselves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        return (s.GetElement(0) + s.GetElement(2)) + (s.GetElement(1) + s.GetElement(3));
    }
}
