namespace LlamaAot.Quants;

// Scalar reference of Q5_1: the definition of correct for every Q5_1 kernel.
public unsafe partial struct BlockQ5_1
{
    /// <summary>The 32 fifth bits as ggml reads them (memcpy into a uint32 on a little-endian machine).</summary>
    internal readonly uint HighBits => Qh[0] | (uint)Qh[1] << 8 | (uint)Qh[2] << 16 | (uint)Qh[3] << 24;

    /// <summary>Value j's 5-bit quant (0..31): its nibble with its fifth bit on top.</summary>
    internal readonly int Quant(int j)
    {
        const int half = BlockSize / 2;
        int nibble = j < half ? Qs[j] & 0x0F : Qs[j - half] >> 4;
        return nibble | (int)((HighBits >> j) & 1) << 4;
    }

    /// <summary>dequantize_row_q5_1: y = q * d + m (a float multiply, then an add).</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ5_1> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            float m = Fp16.HalfBitsToSingle(b.M);
            for (int j = 0; j < BlockSize; j++)
                y[i * BlockSize + j] = b.Quant(j) * d + m;
        }
    }

    /// <summary>
    /// quantize_row_q5_1_ref (what llama-quantize writes without an importance matrix): m = min,
    /// d = (max - min) / 31, q = (uint8)((x - min) / d + 0.5) with the division done as a multiply by 1 / d and no
    /// clamp (ggml keeps only the low 5 bits); the low nibbles go to qs, the fifth bits to qh.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ5_1> blocks)
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
            float d = (max - min) / 31;
            float id = d != 0 ? 1.0f / d : 0;
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            b.M = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(min));
            uint qh = 0;
            for (int j = 0; j < half; j++)
            {
                int q0 = (int)((src[j] - min) * id + 0.5f);
                int q1 = (int)((src[j + half] - min) * id + 0.5f);
                b.Qs[j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 >> 4) & 1) << j;
                qh |= (uint)((q1 >> 4) & 1) << (j + half);
            }
            for (int k = 0; k < 4; k++)
                b.Qh[k] = (byte)(qh >> (8 * k));
        }
    }

    /// <summary>
    /// ggml_vec_dot_q5_1_q8_1: per block an exact integer sum of q * q_x, then
    /// sum += (d_w * d_x) * sumi + m_w * s_x, where s_x = d_x * sum(q_x) comes with the activations.
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockQ5_1> w, ReadOnlySpan<BlockQ8_1> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            int sumi = 0;
            for (int j = 0; j < BlockSize; j++)
                sumi += a.Quant(j) * b.Qs[j];
            sum += Fp16.HalfBitsToSingle(a.D) * Fp16.HalfBitsToSingle(b.D) * sumi
                + Fp16.HalfBitsToSingle(a.M) * Fp16.HalfBitsToSingle(b.S);
        }
        return sum;
    }
}
