using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// IQ4_XS (ggml <c>block_iq4_xs</c>): 256 values in 8 sub-blocks of 32. A half super-block scale <c>d</c>, a 6-bit
/// scale <c>ls</c> per sub-block (low 4 bits in <c>scales_l</c>, two sub-blocks per byte, even sub-block in the low
/// nibble; high 2 bits in <c>scales_h</c>, bits 2ib..2ib+1), and 16 bytes of indices into
/// <see cref="BlockIQ4_NL.Values"/> per sub-block, packed like IQ4_NL (low nibble = value j, high = value j + 16).
/// value = (d * (ls - 32)) * Values[nibble]. 136 bytes, 4.25 bits per weight. Pairs with <see cref="BlockQ8_K"/>
/// activations.
/// </summary>
[QuantFormat(GgmlType.IQ4_XS)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockIQ4_XS : IWeightFormat<BlockIQ4_XS, BlockQ8_K>
{
    public const int BlockSize = 256;

    /// <summary>Sub-blocks of 32 values, each with its own 6-bit scale.</summary>
    public const int SubBlocks = BlockSize / 32;

    /// <summary>Super-block scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>High 2 bits of the sub-block scales: bits 2ib and 2ib + 1 belong to sub-block ib.</summary>
    public ushort ScalesH;

    /// <summary>Low 4 bits of the sub-block scales: byte ib / 2, low nibble for even ib, high nibble for odd ib.</summary>
    public fixed byte ScalesL[SubBlocks / 2];

    /// <summary>Table indices, 16 bytes per sub-block: low nibbles = its values 0..15, high nibbles = 16..31.</summary>
    public fixed byte Qs[BlockSize / 2];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.IQ4_XS;

    /// <summary>The stored 6-bit scale of sub-block <paramref name="ib"/> (0..63; the multiplier is ls - 32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly int Scale(int ib) => ((ScalesL[ib / 2] >> 4 * (ib % 2)) & 0x0F) | (((ScalesH >> 2 * ib) & 3) << 4);
}
