using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q5_1 (ggml <c>block_q5_1</c>): 32 values = a half scale <c>d</c>, a half offset <c>m</c> (the block minimum),
/// 32 fifth bits <c>qh</c> (a little-endian uint32: bit j belongs to value j) and 16 bytes of low nibbles (byte j:
/// value j low, value j + 16 high); value = d * (nibble | fifth bit &lt;&lt; 4) + m. 24 bytes, 6 bits per weight.
/// Pairs with <see cref="BlockQ8_1"/> activations (the offset term is m * s, as for Q4_1).
/// </summary>
[QuantFormat(GgmlType.Q5_1)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ5_1 : IWeightFormat<BlockQ5_1, BlockQ8_1>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Offset (the block minimum), IEEE half bits.</summary>
    public ushort M;

    /// <summary>Fifth bits, little-endian: bit j of the uint32 is the high bit of value j.</summary>
    public fixed byte Qh[4];

    /// <summary>Low nibbles: low = values 0..15, high = values 16..31.</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q5_1;
}
