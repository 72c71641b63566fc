using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q3_K (ggml <c>block_q3_K</c>): 256 values in 16 sub-blocks of 16, each with a signed 6-bit scale;
/// value[e] = d * (scale6[e/16] - 32) * q[e], q in -4..3. Value e = 128n + 32j + l (n in 0..1, j in 0..3,
/// l in 0..31) has low bits (qs[32n + l] &gt;&gt; 2j) &amp; 3 and high bit (hmask[l] &gt;&gt; (4n + j)) &amp; 1;
/// q = low - (high ? 0 : 4). The 6-bit scale of sub-block s is stored + 32: its low 4 bits in the low (s &lt; 8) or
/// high (s &gt;= 8) nibble of scales[s % 8], its high 2 bits at bit 2(s / 4) of scales[8 + s % 4].
/// 110 bytes, 3.4375 bits per weight. Pairs with <see cref="BlockQ8_K"/> activations.
/// </summary>
[QuantFormat(GgmlType.Q3_K)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ3_K : IWeightFormat<BlockQ3_K, BlockQ8_K>
{
    public const int BlockSize = 256;

    /// <summary>High bits: bit 4n + j of byte l belongs to value 128n + 32j + l.</summary>
    public fixed byte HMask[BlockSize / 8];

    /// <summary>Low 2 bits, four values per byte (the layout of Q2_K).</summary>
    public fixed byte Qs[BlockSize / 4];

    /// <summary>Sixteen 6-bit scales (stored + 32) packed into 12 bytes.</summary>
    public fixed byte Scales[12];

    /// <summary>Super-block scale, IEEE half bits.</summary>
    public ushort D;

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q3_K;
}
