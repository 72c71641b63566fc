using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q5_0 (ggml <c>block_q5_0</c>): 32 values = a half scale <c>d</c>, 32 fifth bits <c>qh</c> (a little-endian
/// uint32: bit j belongs to value j) and 16 bytes of low nibbles (byte j: value j low, value j + 16 high);
/// value = d * ((nibble | fifth bit &lt;&lt; 4) - 16). 22 bytes, 5.5 bits per weight. Pairs with
/// <see cref="BlockQ8_0"/> activations.
/// </summary>
[QuantFormat(GgmlType.Q5_0)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ5_0 : IWeightFormat<BlockQ5_0, BlockQ8_0>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Fifth bits, little-endian: bit j of the uint32 is the high bit of value j.</summary>
    public fixed byte Qh[4];

    /// <summary>Low nibbles: low = values 0..15, high = values 16..31.</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q5_0;
}
