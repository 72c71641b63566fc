using System.Runtime.InteropServices;

namespace LlamaAot.Quants;

/// <summary>
/// Q8_1 (ggml <c>block_q8_1</c>): activations for Q4_1 and Q5_1 weights. 32 values = a half scale <c>d</c>, a
/// half <c>s</c> = d * sum(qs) (so the weights' offset term costs one multiply per block), and 32 signed bytes;
/// value[j] = d * qs[j]. 36 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_1 : IActivationFormat<BlockQ8_1>
{
    public const int BlockSize = 32;

    /// <summary>Scale, IEEE half bits.</summary>
    public ushort D;

    /// <summary>d * sum(qs), IEEE half bits.</summary>
    public ushort S;

    /// <summary>Quants, value order.</summary>
    public fixed sbyte Qs[BlockSize];

    public static int ValuesPerBlock => BlockSize;

    /// <summary>
    /// quantize_row_q8_1 of ggml-cpu on x86 (AVX branch): as Q8_0's (multiplier 127 / amax, round to nearest even),
    /// plus s = fp16(d * sum(q)) with d before its half rounding.
    /// </summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<BlockQ8_1> blocks)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            float amax = 0;
            foreach (float v in src)
                amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0;
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            int sum = 0;
            for (int j = 0; j < BlockSize; j++)
            {
                int q = (int)MathF.Round(src[j] * id, MidpointRounding.ToEven);
                b.Qs[j] = (sbyte)q;
                sum += q;
            }
            b.S = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d * sum));
        }
    }
}
