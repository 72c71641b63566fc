namespace LlamaAot.Quants;

// Scalar reference of Q4_0: the definition of correct for every Q4_0 kernel.
public unsafe partial struct BlockQ4_0
{
    /// <summary>dequantize_row_q4_0.</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ4_0> blocks, Span<float> y)
    {
        const int half = BlockSize / 2;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            for (int j = 0; j < half; j++)
            {
                y[i * BlockSize + j] = ((b.Qs[j] & 0x0F) - 8) * d;
                y[i * BlockSize + j + half] = ((b.Qs[j] >> 4) - 8) * d;
            }
        }
    }

    /// <summary>
    /// quantize_row_q4_0_ref: d = max / -8 where max is the value of largest magnitude (first one wins),
    /// q = min(15, (int8)(x / d + 8.5)).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ4_0> blocks)
    {
        const int half = BlockSize / 2;
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            float amax = 0, max = 0;
            foreach (float v in src)
            {
                if (amax < MathF.Abs(v))
                {
                    amax = MathF.Abs(v);
                    max = v;
                }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0;
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            for (int j = 0; j < half; j++)
            {
                int q0 = Math.Min(15, (int)(sbyte)(src[j] * id + 8.5f));
                int q1 = Math.Min(15, (int)(sbyte)(src[j + half] * id + 8.5f));
                b.Qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    /// <summary>ggml_vec_dot_q4_0_q8_0: per block an exact integer sum, scaled by d_w * d_x, summed in float.</summary>
    public static float Dot(ReadOnlySpan<BlockQ4_0> w, ReadOnlySpan<BlockQ8_0> x)
    {
        const int half = BlockSize / 2;
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            int sumi = 0;
            for (int j = 0; j < half; j++)
            {
                sumi += ((a.Qs[j] & 0x0F) - 8) * b.Qs[j];
                sumi += ((a.Qs[j] >> 4) - 8) * b.Qs[j + half];
            }
            sum += sumi * (Fp16.HalfBitsToSingle(a.D) * Fp16.HalfBitsToSingle(b.D));
        }
        return sum;
    }
}
