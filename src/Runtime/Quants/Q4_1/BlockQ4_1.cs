using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q4_1 (ggml <c>block_q4_1</c>): 32 values = a half scale <c>d</c>, a half offset <c>m</c> (the block minimum) and
/// 16 bytes of 4-bit quants. Byte j holds value j in its low nibble and value j + 16 in its high nibble;
/// value = d * nibble + m. 20 bytes, 5 bits per weight. Pairs with <see cref="BlockQ8_1"/> activations, whose
/// precomputed <c>s</c> = d_x * sum(q_x) makes the offset term one multiply per block: m * s.
/// </summary>
[QuantFormat(GgmlType.Q4_1)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ4_1 : IWeightFormat<BlockQ4_1, BlockQ8_1>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Offset (the block minimum), IEEE half bits.</summary>
    public ushort M;

    /// <summary>Nibbles: low = values 0..15, high = values 16..31.</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q4_1;
}
