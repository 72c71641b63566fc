namespace LlamaAot.Quants;

// Scalar reference of Q4_1: the definition of correct for every Q4_1 kernel.
public unsafe partial struct BlockQ4_1
{
    /// <summary>dequantize_row_q4_1: y = nibble * d + m (a float multiply, then an add).</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ4_1> blocks, Span<float> y)
    {
        const int half = BlockSize / 2;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            float m = Fp16.HalfBitsToSingle(b.M);
            for (int j = 0; j < half; j++)
            {
                y[i * BlockSize + j] = (b.Qs[j] & 0x0F) * d + m;
                y[i * BlockSize + j + half] = (b.Qs[j] >> 4) * d + m;
            }
        }
    }

    /// <summary>
    /// quantize_row_q4_1_ref (what llama-quantize writes without an importance matrix): m = min, d = (max - min) / 15,
    /// q = min(15, (int8)((x - min) / d + 0.5)) with the division done as a multiply by 1 / d.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ4_1> blocks)
    {
        const int half = BlockSize / 2;
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            float min = float.MaxValue, max = -float.MaxValue;
            foreach (float v in src)
            {
                if (v < min)
                    min = v;
                if (v > max)
                    max = v;
            }
            float d = (max - min) / 15;
            float id = d != 0 ? 1.0f / d : 0;
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            b.M = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(min));
            for (int j = 0; j < half; j++)
            {
                int q0 = Math.Min(15, (int)(sbyte)((src[j] - min) * id + 0.5f));
                int q1 = Math.Min(15, (int)(sbyte)((src[j + half] - min) * id + 0.5f));
                b.Qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    /// <summary>
    /// ggml_vec_dot_q4_1_q8_1: per block an exact integer sum of nibble * q_x, then
    /// sum += (d_w * d_x) * sumi + m_w * s_x, where s_x = d_x * sum(q_x) comes with the activations.
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockQ4_1> w, ReadOnlySpan<BlockQ8_1> x)
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
                sumi += (a.Qs[j] & 0x0F) * b.Qs[j];
                sumi += (a.Qs[j] >> 4) * b.Qs[j + half];
            }
            sum += Fp16.HalfBitsToSingle(a.D) * Fp16.HalfBitsToSingle(b.D) * sumi
                + Fp16.HalfBitsToSingle(a.M) * Fp16.HalfBitsToSingle(b.S);
        }
        return sum;
    }
}
