using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q4_0 (ggml <c>block_q4_0</c>): 32 values = a half scale <c>d</c> and 16 bytes of 4-bit quants. Byte j holds
/// value j in its low nibble and value j + 16 in its high nibble; value = d * (nibble - 8). 18 bytes, 4.5 bits
/// per weight. Pairs with <see cref="BlockQ8_0"/> activations.
/// </summary>
[QuantFormat(GgmlType.Q4_0)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ4_0 : IWeightFormat<BlockQ4_0, BlockQ8_0>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Nibbles: low = values 0..15, high = values 16..31.</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q4_0;
}
