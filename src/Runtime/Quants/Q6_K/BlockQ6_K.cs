using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q6_K (ggml <c>block_q6_K</c>): 256 values in 16 sub-blocks of 16, each with a signed 8-bit scale, and one half
/// super-scale <c>d</c>; value = d * scales[e / 16] * (q6 - 32), q6 in 0..63.
/// <para>Layout per half n (values 128n .. 128n + 127, bytes <c>ql[64n ..]</c> and <c>qh[32n ..]</c>), l in 0..31:
/// value 128n + l      = low nibble of ql[64n + l]       | bits 0-1 of qh[32n + l] &lt;&lt; 4;
/// value 128n + l + 32 = low nibble of ql[64n + l + 32]  | bits 2-3 of qh[32n + l] &lt;&lt; 4;
/// value 128n + l + 64 = high nibble of ql[64n + l]      | bits 4-5 of qh[32n + l] &lt;&lt; 4;
/// value 128n + l + 96 = high nibble of ql[64n + l + 32] | bits 6-7 of qh[32n + l] &lt;&lt; 4.</para>
/// 210 bytes, 6.5625 bits per weight. Pairs with <see cref="BlockQ8_K"/> activations.
/// </summary>
[QuantFormat(GgmlType.Q6_K)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ6_K : IWeightFormat<BlockQ6_K, BlockQ8_K>
{
    public const int BlockSize = 256;

    /// <summary>Low 4 bits of the quants (see the layout above).</summary>
    public fixed byte Ql[BlockSize / 2];

    /// <summary>High 2 bits of the quants, four values per byte.</summary>
    public fixed byte Qh[BlockSize / 4];

    /// <summary>Signed scale of each 16-value sub-block, in value order.</summary>
    public fixed sbyte Scales[BlockSize / 16];

    /// <summary>Super-block scale, IEEE half bits.</summary>
    public ushort D;

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q6_K;
}
