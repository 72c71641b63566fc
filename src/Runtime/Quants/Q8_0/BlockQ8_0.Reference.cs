namespace LlamaAot.Quants;

// Scalar reference of Q8_0: the definition of correct for every Q8_0 kernel.
public unsafe partial struct BlockQ8_0
{
    /// <summary>dequantize_row_q8_0: y = d * q.</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ8_0> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            for (int j = 0; j < BlockSize; j++)
                y[i * BlockSize + j] = b.Qs[j] * d;
        }
    }

    /// <summary>
    /// quantize_row_q8_0_ref (how llama-quantize writes Q8_0 weights): d = amax / 127, q = roundf(x / d), with
    /// C's roundf (halves away from zero).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ8_0> blocks)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            float amax = 0;
            foreach (float v in src)
                amax = MathF.Max(amax, MathF.Abs(v));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0;
            ref var b = ref blocks[i];
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            for (int j = 0; j < BlockSize; j++)
                b.Qs[j] = (sbyte)MathF.Round(src[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    /// <summary>
    /// quantize_row_q8_0 of ggml-cpu on x86 (the AVX branch llama.cpp runs on this CPU): the multiplier is
    /// 127 / amax rather than 1 / d, and rounding is to nearest even. These are the activations every Q8_0-paired
    /// product sees, so matching them bit for bit keeps logits close to llama.cpp's. The scalar twin of
    /// <see cref="QuantizeActivations"/>.
    /// </summary>
    public static void QuantizeActivationsReference(ReadOnlySpan<float> x, Span<BlockQ8_0> blocks)
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
            for (int j = 0; j < BlockSize; j++)
                b.Qs[j] = (sbyte)MathF.Round(src[j] * id, MidpointRounding.ToEven);
        }
    }

    /// <summary>ggml_vec_dot_q8_0_q8_0: per block an exact integer sum, scaled by d_w * d_x, summed in float.</summary>
    public static float Dot(ReadOnlySpan<BlockQ8_0> w, ReadOnlySpan<BlockQ8_0> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            int sumi = 0;
            for (int j = 0; j < BlockSize; j++)
                sumi += a.Qs[j] * b.Qs[j];
            sum += sumi * (Fp16.HalfBitsToSingle(a.D) * Fp16.HalfBitsToSingle(b.D));
        }
        return sum;
    }
}
