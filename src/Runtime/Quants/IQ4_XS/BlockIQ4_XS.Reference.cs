namespace LlamaAot.Quants;

// Scalar reference of IQ4_XS: the definition of correct for every IQ4_XS kernel.
public unsafe partial struct BlockIQ4_XS
{
    private const int Sub = BlockSize / SubBlocks;

    /// <summary>dequantize_row_iq4_xs: y = (d * (ls - 32)) * Values[nibble].</summary>
    public static void Dequantize(ReadOnlySpan<BlockIQ4_XS> blocks, Span<float> y)
    {
        var values = BlockIQ4_NL.Values;
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            for (int ib = 0; ib < SubBlocks; ib++)
            {
                float dl = d * (b.Scale(ib) - 32);
                var dst = y.Slice(i * BlockSize + ib * Sub, Sub);
                for (int j = 0; j < Sub / 2; j++)
                {
                    dst[j] = dl * values[b.Qs[ib * Sub / 2 + j] & 0x0F];
                    dst[j + Sub / 2] = dl * values[b.Qs[ib * Sub / 2 + j] >> 4];
                }
            }
        }
    }

    /// <summary>
    /// quantize_iq4_xs without an importance matrix (quantize_row_iq4_nl_impl(256, 32, ntry = 7), as llama-quantize
    /// writes it): a scale per 32-value sub-block from <see cref="NonLinearQuantizer.SearchScale"/>; d = -s/32 where
    /// s is the sub-block scale of largest magnitude (first wins), stored as a half; each sub-block scale becomes
    /// l = clamp(round(scale / d), -32, 31), stored as l + 32; indices are recomputed for the scale d * l, with the
    /// unrounded d.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockIQ4_XS> blocks)
    {
        Span<float> scales = stackalloc float[SubBlocks];
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            float maxScale = 0, amaxScale = 0;
            for (int ib = 0; ib < SubBlocks; ib++)
            {
                scales[ib] = NonLinearQuantizer.SearchScale(src.Slice(ib * Sub, Sub));
                if (MathF.Abs(scales[ib]) > amaxScale)
                {
                    amaxScale = MathF.Abs(scales[ib]);
                    maxScale = scales[ib];
                }
            }

            ref var b = ref blocks[i];
            float d = -maxScale / 32;
            float id = d != 0 ? 1 / d : 0;
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
            b.ScalesH = 0;
            for (int ib = 0; ib < SubBlocks; ib++)
            {
                int l = Math.Clamp(QuantMath.NearestInt(id * scales[ib]), -32, 31);
                fixed (byte* qs = b.Qs)
                    NonLinearQuantizer.Pack(src.Slice(ib * Sub, Sub), d * l, qs + ib * Sub / 2);
                l += 32;
                if (ib % 2 == 0)
                    b.ScalesL[ib / 2] = (byte)(l & 0x0F);
                else
                    b.ScalesL[ib / 2] |= (byte)((l & 0x0F) << 4);
                b.ScalesH |= (ushort)((l >> 4) << 2 * ib);
            }
        }
    }

    /// <summary>
    /// ggml_vec_dot_iq4_xs_q8_K as llama.cpp's x86 build computes it (its AVX2 branch, also taken by AVX-512
    /// builds): per super-block one exact integer sum of (ls - 32) * Values[nibble] * q8 over all 256 values,
    /// scaled by d = d_w * d_x (one float multiply), summed in float. (The generic C fallback instead scales each
    /// 32-value sub-block in float; the integer form is what the SIMD kernels compute too.)
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockIQ4_XS> w, ReadOnlySpan<BlockQ8_K> x)
    {
        var values = BlockIQ4_NL.Values;
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            int isum = 0;
            for (int ib = 0; ib < SubBlocks; ib++)
            {
                int sumi = 0;
                for (int j = 0; j < Sub / 2; j++)
                {
                    byte q = a.Qs[ib * Sub / 2 + j];
                    sumi += b.Qs[ib * Sub + j] * values[q & 0x0F];
                    sumi += b.Qs[ib * Sub + j + Sub / 2] * values[q >> 4];
                }
                isum += (a.Scale(ib) - 32) * sumi;
            }
            sum += Fp16.HalfBitsToSingle(a.D) * b.D * isum;
        }
        return sum;
    }
}
