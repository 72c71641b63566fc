namespace LlamaAot.Quants;

// Scalar reference of Q2_K: the definition of correct for every Q2_K kernel.
public unsafe partial struct BlockQ2_K
{
    /// <summary>The 2-bit quant of value <paramref name="e"/> (0..255) of a block.</summary>
    private static int Quant(in BlockQ2_K b, int e) => (b.Qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;

    /// <summary>dequantize_row_q2_K: per sub-block dl = d * scale and ml = dmin * min (floats), y = dl * q - ml.</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ2_K> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            float min = Fp16.HalfBitsToSingle(b.DMin);
            var dst = y.Slice(i * BlockSize, BlockSize);
            for (int s = 0; s < 16; s++)
            {
                float dl = d * (b.Scales[s] & 0xF);
                float ml = min * (b.Scales[s] >> 4);
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    dst[e] = dl * Quant(b, e) - ml;
            }
        }
    }

    /// <summary>
    /// quantize_row_q2_K_ref (what llama-quantize writes without an importance matrix): per sub-block
    /// make_qkx2_quants (<see cref="KQuantScaleMin.MakeQkx2Quants"/>, shared with Q4_K and Q5_K) with nmax 3,
    /// weights |x|, rmin -0.5, rdelta 0.1, 15 steps and absolute error gives a scale and a min; both are quantized
    /// to 4 bits against the largest of each (d = max_scale / 15, dmin = max_min / 15, as halves); then every value
    /// is requantized with the half-rounded numbers, q = clamp(round((x + dm) / dq), 0, 3) (a sub-block whose dq is
    /// 0 keeps the quants of its search).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ2_K> blocks)
    {
        Span<byte> L = stackalloc byte[BlockSize];
        Span<byte> laux = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            ref var b = ref blocks[i];
            float maxScale = 0, maxMin = 0;
            for (int s = 0; s < 16; s++)
            {
                var group = src.Slice(16 * s, 16);
                for (int l = 0; l < 16; l++)
                    weights[l] = MathF.Abs(group[l]);
                scales[s] = KQuantScaleMin.MakeQkx2Quants(3, group, weights, L.Slice(16 * s, 16), out mins[s], laux, -0.5f, 0.1f, 15, useMad: true);
                if (scales[s] > maxScale) maxScale = scales[s];
                if (mins[s] > maxMin) maxMin = mins[s];
            }

            if (maxScale > 0)
            {
                float iscale = 15f / maxScale;
                for (int s = 0; s < 16; s++)
                    b.Scales[s] = (byte)QuantMath.NearestInt(iscale * scales[s]);
                b.D = HalfBits(maxScale / 15f);
            }
            else
            {
                for (int s = 0; s < 16; s++)
                    b.Scales[s] = 0;
                b.D = HalfBits(0);
            }
            if (maxMin > 0)
            {
                float iscale = 15f / maxMin;
                for (int s = 0; s < 16; s++)
                    b.Scales[s] |= (byte)(QuantMath.NearestInt(iscale * mins[s]) << 4);
                b.DMin = HalfBits(maxMin / 15f);
            }
            else
            {
                b.DMin = HalfBits(0);
            }

            float d = Fp16.HalfBitsToSingle(b.D), dmin = Fp16.HalfBitsToSingle(b.DMin);
            for (int s = 0; s < 16; s++)
            {
                float dq = d * (b.Scales[s] & 0xF);
                if (dq == 0)
                    continue;
                float dm = dmin * (b.Scales[s] >> 4);
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    L[e] = (byte)Math.Clamp(QuantMath.NearestInt((src[e] + dm) / dq), 0, 3);
            }

            for (int n = 0; n < 2; n++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int e = 128 * n + l;
                    b.Qs[32 * n + l] = (byte)(L[e] | (L[e + 32] << 2) | (L[e + 64] << 4) | (L[e + 96] << 6));
                }
            }
        }
    }

    /// <summary>
    /// ggml_vec_dot_q2_K_q8_K (scalar): per block the exact integer sums isum = sum over sub-blocks of
    /// scale * sum(q8 * q) and summs = sum over sub-blocks of min * bsums (the activations' sums of 16), then
    /// sumf += (y.d * d) * isum - (y.d * dmin) * summs in float.
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockQ2_K> w, ReadOnlySpan<BlockQ8_K> x)
    {
        float sumf = 0;
        for (int i = 0; i < w.Length; i++)
        {
            ref readonly var a = ref w[i];
            ref readonly var b = ref x[i];
            int summs = 0;
            for (int s = 0; s < 16; s++)
                summs += b.BSums[s] * (a.Scales[s] >> 4);
            int isum = 0;
            for (int s = 0; s < 16; s++)
            {
                int isuml = 0;
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    isuml += b.Qs[e] * Quant(a, e);
                isum += (a.Scales[s] & 0xF) * isuml;
            }
            float dall = b.D * Fp16.HalfBitsToSingle(a.D);
            float dmin = b.D * Fp16.HalfBitsToSingle(a.DMin);
            sumf += dall * isum - dmin * summs;
        }
        return sumf;
    }

    private static ushort HalfBits(float x) => BitConverter.HalfToUInt16Bits(Fp16.ToHalf(x));
}
