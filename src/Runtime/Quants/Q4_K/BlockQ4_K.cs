using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q4_K (ggml <c>block_q4_K</c>): 256 values in 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min
/// (packed in 12 bytes, see <see cref="KQuantScaleMin"/>), and two half super-scales <c>d</c> and <c>dmin</c>;
/// value = (d * scale) * q - (dmin * min), q in 0..15.
/// <para>Layout: for chunk c = 0..3, byte qs[32c + l] holds value 64c + l (sub-block 2c) in its low nibble and
/// value 64c + 32 + l (sub-block 2c + 1) in its high nibble.</para>
/// 144 bytes, 4.5 bits per weight. Pairs with <see cref="BlockQ8_K"/> activations.
/// </summary>
[QuantFormat(GgmlType.Q4_K)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ4_K : IWeightFormat<BlockQ4_K, BlockQ8_K>
{
    public const int BlockSize = 256;

    /// <summary>Super-block scale of the sub-block scales, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Super-block scale of the sub-block mins, IEEE half bits.</summary>
    public ushort DMin;

    /// <summary>8 scales and 8 mins of 6 bits (<see cref="KQuantScaleMin"/>).</summary>
    public fixed byte Scales[KQuantScaleMin.Bytes];

    /// <summary>Nibbles (see the layout above).</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q4_K;
}
