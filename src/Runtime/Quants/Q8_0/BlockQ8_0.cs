using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Q8_0 (ggml <c>block_q8_0</c>): 32 values = a half scale <c>d</c> and 32 signed bytes <c>qs</c>;
/// value[j] = d * qs[j]. 34 bytes, 8.5 bits per weight. It is both a weight format and the activation format of
/// Q4_0, Q5_0, Q8_0 and IQ4_NL weights.
/// </summary>
[QuantFormat(GgmlType.Q8_0)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe partial struct BlockQ8_0 : IWeightFormat<BlockQ8_0, BlockQ8_0>, IActivationFormat<BlockQ8_0>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>Quants, value order.</summary>
    public fixed sbyte Qs[BlockSize];

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.Q8_0;
}
