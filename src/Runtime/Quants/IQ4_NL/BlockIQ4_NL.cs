using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// IQ4_NL (ggml <c>block_iq4_nl</c>): 32 values = a half scale <c>d</c> and 16 bytes of 4-bit indices into the
/// non-linear table <see cref="Values"/> (ggml <c>kvalues_iq4nl</c>). Byte j holds value j in its low nibble and
/// value j + 16 in its high nibble; value = d * Values[nibble]. 18 bytes, 4.5 bits per weight. Pairs with
/// <see cref="BlockQ8_0"/> activations.
/// </summary>
[QuantFormat(GgmlType.IQ4_NL)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockIQ4_NL : IWeightFormat<BlockIQ4_NL, BlockQ8_0>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Table indices: low nibbles = values 0..15, high nibbles = values 16..31.</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.IQ4_NL;

    /// <summary>
    /// ggml's kvalues_iq4nl: the 16 levels a nibble selects, denser near zero, where most weights are. Shared with
    /// IQ4_XS.
    /// </summary>
    public static ReadOnlySpan<sbyte> Values => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
}
