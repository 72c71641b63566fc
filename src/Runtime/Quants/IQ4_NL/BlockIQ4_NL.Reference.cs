namespace LlamaAot.Quants;

// Scalar reference of IQ4_NL: the definition of correct for every IQ4_NL kernel.
public unsafe partial struct BlockIQ4_NL
{
    /// <summary>dequantize_row_iq4_nl: y = d * Values[nibble].</summary>
    public static void Dequantize(ReadOnlySpan<BlockIQ4_NL> blocks, Span<float> y)
    {
        const int half = BlockSize / 2;
        var values = Values;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            for (int j = 0; j < half; j++)
            {
                y[i * BlockSize + j] = d * values[b.Qs[j] & 0x0F];
                y[i * BlockSize + j + half] = d * values[b.Qs[j] >> 4];
            }
        }
    }

    /// <summary>
    /// quantize_iq4_nl without an importance matrix, which is what llama-quantize writes: per block,
    /// quantize_row_iq4_nl_impl(32, 32, ntry = 7). The scale comes from the search in
    /// <see cref="NonLinearQuantizer.SearchScale"/>; the indices are then recomputed from the unrounded scale and
    /// the scale is stored as a half. (quantize_row_iq4_nl_ref, which ggml uses for run-time conversions, passes
    /// ntry = -1 instead and keeps the indices of d = max / -127: it writes different bytes.)
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockIQ4_NL> blocks)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            float d = NonLinearQuantizer.SearchScale(src);
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            fixed (byte* qs = b.Qs)
                NonLinearQuantizer.Pack(src, d, qs);
        }
    }

    /// <summary>
    /// ggml_vec_dot_iq4_nl_q8_0: per block exact integer sums of Values[nibble] * q8, scaled by d = d_x * d_w (one
    /// float multiply), summed in float.
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockIQ4_NL> w, ReadOnlySpan<BlockQ8_0> x)
    {
        const int half = BlockSize / 2;
        var values = Values;
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            int sumi1 = 0, sumi2 = 0;
            for (int j = 0; j < half; j++)
            {
                sumi1 += b.Qs[j] * values[a.Qs[j] & 0x0F];
                sumi2 += b.Qs[j + half] * values[a.Qs[j] >> 4];
            }
            float d = Fp16.HalfBitsToSingle(b.D) * Fp16.HalfBitsToSingle(a.D);
            sum += d * (sumi1 + sumi2);
        }
        return sum;
    }
}
