namespace LlamaAot.Quants;

// Scalar reference of Q5_0: the definition of correct for every Q5_0 kernel.
public unsafe partial struct BlockQ5_0
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

    /// <summary>dequantize_row_q5_0: y = (q - 16) * d.</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ5_0> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            for (int j = 0; j < BlockSize; j++)
                y[i * BlockSize + j] = (b.Quant(j) - 16) * d;
        }
    }

    /// <summary>
    /// quantize_row_q5_0_ref (what llama-quantize writes without an importance matrix): d = max / -16 where max is
    /// the value of largest magnitude (first one wins), q = min(31, (int8)(x / d + 16.5)) with the division done as
    /// a multiply by 1 / d; the low nibbles go to qs, the fifth bits to qh.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ5_0> blocks)
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
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0;
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            uint qh = 0;
            for (int j = 0; j < half; j++)
            {
                int q0 = Math.Min(31, (int)(sbyte)(src[j] * id + 16.5f));
                int q1 = Math.Min(31, (int)(sbyte)(src[j + half] * id + 16.5f));
                b.Qs[j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)(q0 >> 4) << j;
                qh |= (uint)(q1 >> 4) << (j + half);
            }
            for (int k = 0; k < 4; k++)
                b.Qh[k] = (byte)(qh >> (8 * k));
        }
    }

    /// <summary>ggml_vec_dot_q5_0_q8_0: per block an exact integer sum of (q - 16) * q_x, scaled by d_w * d_x, summed in float.</summary>
    public static float Dot(ReadOnlySpan<BlockQ5_0> w, ReadOnlySpan<BlockQ8_0> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            int sumi = 0;
            for (int j = 0; j < BlockSize; j++)
                sumi += (a.Quant(j) - 16) * b.Qs[j];
            sum += Fp16.HalfBitsToSingle(a.D) * Fp16.HalfBitsToSingle(b.D) * sumi;
        }
        return sum;
    }
}
