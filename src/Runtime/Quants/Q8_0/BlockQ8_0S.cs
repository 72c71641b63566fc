using System.Runtime.InteropServices;

namespace LlamaAot.Quants;

/// <summary>
/// Q8_0 activations as the interleaved kernels want them: the same quants and scale as <see cref="BlockQ8_0"/>
/// (llama.cpp's rounding, bit for bit), with the scale already widened to a float and the quants' sum precomputed,
/// so per-block work that every row group would repeat is done once per token. 40 bytes; never written to files.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_0S : IActivationFormat<BlockQ8_0S>
{
    public const int BlockSize = 32;

    /// <summary>The scale: the half of <see cref="BlockQ8_0.D"/> as a float.</summary>
    public float D;

    /// <summary>Sum of the 32 quants.</summary>
    public int Sum;

    /// <summary>Quants, value order.</summary>
    public fixed sbyte Qs[BlockSize];

    public static int ValuesPerBlock => BlockSize;

    /// <summary>Exactly <see cref="BlockQ8_0.QuantizeActivations"/>, then the float scale and the sum.</summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<BlockQ8_0S> blocks)
    {
        Span<BlockQ8_0> q8 = stackalloc BlockQ8_0[1];
        for (int i = 0; i < blocks.Length; i++)
        {
            BlockQ8_0.QuantizeActivations(x.Slice(i * BlockSize, BlockSize), q8);
            ref var b = ref blocks[i];
            b.D = Fp16.HalfBitsToSingle(q8[0].D);
            int sum = 0;
            for (int j = 0; j < BlockSize; j++)
            {
                b.Qs[j] = q8[0].Qs[j];
                sum += q8[0].Qs[j];
            }
            b.Sum = sum;
        }
    }
}
