using System.Runtime.InteropServices;

namespace LlamaAot.Quants;

/// <summary>
/// Q8_K (ggml <c>block_q8_K</c>): activations for the K-quants and IQ4_XS. 256 values = a float scale <c>d</c>,
/// 256 signed bytes and 16 int16 sums of 16 quants each (<c>bsums</c>, for the weights' minimum terms);
/// value[j] = d * qs[j]. 292 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_K : IActivationFormat<BlockQ8_K>
{
    public const int BlockSize = 256;

    /// <summary>Scale (a float, not a half).</summary>
    public float D;

    /// <summary>Quants, value order.</summary>
    public fixed sbyte Qs[BlockSize];

    /// <summary>bsums[k] = sum of qs[16k .. 16k + 15].</summary>
    public fixed short BSums[BlockSize / 16];

    public static int ValuesPerBlock => BlockSize;

    /// <summary>
    /// quantize_row_q8_K (on x86 the reference, quantize_row_q8_K_ref): max = the value of largest magnitude (first
    /// one wins), iscale = -127 / max, q = min(127, round-to-even(iscale * x)), d = 1 / iscale. An all-zero block
    /// gets d = 0 and zero quants (llama.cpp leaves its bsums stale; here they are zero).
    /// </summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<BlockQ8_K> blocks)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            ref var b = ref blocks[i];
            float amax = 0, max = 0;
            foreach (float v in src)
            {
                if (MathF.Abs(v) > amax)
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }
            if (amax == 0)
            {
                b = default;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < BlockSize; j++)
                b.Qs[j] = (sbyte)Math.Min(127, QuantMath.NearestInt(iscale * src[j]));
            for (int k = 0; k < BlockSize / 16; k++)
            {
                int sum = 0;
                for (int j = 0; j < 16; j++)
                    sum += b.Qs[16 * k + j];
                b.BSums[k] = (short)sum;
            }
            b.D = 1 / iscale;
        }
    }
}
