using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q2_K (ggml <c>block_q2_K</c>): 256 values in 16 sub-blocks of 16, each with a 4-bit scale and a 4-bit min;
/// value[e] = d * (scales[e/16] &amp; 15) * q[e] - dmin * (scales[e/16] &gt;&gt; 4), q in 0..3.
/// Value e = 128n + 32j + l (n in 0..1, j in 0..3, l in 0..31) has q = (qs[32n + l] &gt;&gt; 2j) &amp; 3.
/// 84 bytes, 2.625 bits per weight. Pairs with <see cref="BlockQ8_K"/> activations.
/// </summary>
[QuantFormat(GgmlType.Q2_K)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ2_K : IWeightFormat<BlockQ2_K, BlockQ8_K>
{
    public const int BlockSize = 256;

    /// <summary>Per sub-block: low nibble the scale, high nibble the min.</summary>
    public fixed byte Scales[BlockSize / 16];

    /// <summary>2-bit quants, four values per byte (see the layout above).</summary>
    public fixed byte Qs[BlockSize / 4];

    /// <summary>Super-block scale of the scales, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Super-block scale of the mins, IEEE half bits.</summary>
    public ushort DMin;

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q2_K;
}
