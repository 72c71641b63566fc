namespace LlamaAot.Quants;

// Scalar reference of Q6_K: the definition of correct for every Q6_K kernel.
public unsafe partial struct BlockQ6_K
{
    private const float GroupMaxEps = 1e-15f; // ggml's GROUP_MAX_EPS

    /// <summary>dequantize_row_q6_K: y = (d * scale) * (q6 - 32).</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ6_K> blocks, Span<float> y)
    {
        Span<byte> q = stackalloc byte[BlockSize];
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            b.Unpack(q);
            float d = Fp16.HalfBitsToSingle(b.D);
            for (int e = 0; e < BlockSize; e++)
                y[i * BlockSize + e] = d * b.Scales[e / 16] * (q[e] - 32);
        }
    }

    /// <summary>
    /// quantize_row_q6_K_ref (what llama-quantize writes without an importance matrix): per 16-value sub-block a
    /// scale from <see cref="MakeQxQuants"/> (nmax 32, weights x²); the signed scale of largest magnitude sets
    /// d = 1 / (-128 / max); scales = min(127, round(iscale * scale)); then every value is requantized against the
    /// half-rounded d * scale (a sub-block whose d * scale is 0 keeps its first-pass quants).
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ6_K> blocks)
    {
        Span<sbyte> l = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[BlockSize / 16];
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            ref var b = ref blocks[i];
            float maxScale = 0, maxAbsScale = 0;
            for (int s = 0; s < BlockSize / 16; s++)
            {
                scales[s] = MakeQxQuants(src.Slice(16 * s, 16), 32, l.Slice(16 * s, 16));
                if (MathF.Abs(scales[s]) > maxAbsScale)
                {
                    maxAbsScale = MathF.Abs(scales[s]);
                    maxScale = scales[s];
                }
            }
            if (maxAbsScale < GroupMaxEps)
            {
                b = default;
                continue;
            }

            float iscale = -128f / maxScale;
            b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(1 / iscale));
            for (int s = 0; s < BlockSize / 16; s++)
                b.Scales[s] = (sbyte)Math.Min(127, QuantMath.NearestInt(iscale * scales[s]));

            float dAll = Fp16.HalfBitsToSingle(b.D);
            for (int s = 0; s < BlockSize / 16; s++)
            {
                float d = dAll * b.Scales[s];
                if (d == 0)
                    continue;
                for (int j = 16 * s; j < 16 * s + 16; j++)
                    l[j] = (sbyte)(Math.Clamp(QuantMath.NearestInt(src[j] / d), -32, 31) + 32);
            }
            b.Pack(l);
        }
    }

    /// <summary>
    /// ggml_vec_dot_q6_K_q8_K (scalar): per super-block exact integer sums in 8 lanes (lane = value index mod 8) of
    /// scale * (q6 - 32) * q8, then sums[lane] += (d_w * d_x) * lane; the result is the sum of the 8 lanes.
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockQ6_K> w, ReadOnlySpan<BlockQ8_K> x)
    {
        Span<byte> q = stackalloc byte[BlockSize];
        Span<float> sums = stackalloc float[8];
        Span<int> lanes = stackalloc int[8];
        sums.Clear();
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            var b = x[i];
            a.Unpack(q);
            lanes.Clear();
            for (int e = 0; e < BlockSize; e++)
                lanes[e % 8] += a.Scales[e / 16] * ((q[e] - 32) * b.Qs[e]);
            float d = Fp16.HalfBitsToSingle(a.D) * b.D;
            for (int j = 0; j < 8; j++)
                sums[j] += d * lanes[j];
        }
        float sum = 0;
        for (int j = 0; j < 8; j++)
            sum += sums[j];
        return sum;
    }

    /// <summary>The 256 quants in value order, 0..63 (the stored q6, before the -32).</summary>
    private readonly void Unpack(Span<byte> q)
    {
        for (int n = 0; n < 2; n++)
        {
            for (int l = 0; l < 32; l++)
            {
                int ql0 = Ql[64 * n + l], ql1 = Ql[64 * n + l + 32], qh = Qh[32 * n + l];
                q[128 * n + l] = (byte)((ql0 & 0x0F) | (qh & 3) << 4);
                q[128 * n + l + 32] = (byte)((ql1 & 0x0F) | (qh >> 2 & 3) << 4);
                q[128 * n + l + 64] = (byte)((ql0 >> 4) | (qh >> 4 & 3) << 4);
                q[128 * n + l + 96] = (byte)((ql1 >> 4) | (qh >> 6 & 3) << 4);
            }
        }
    }

    /// <summary>The inverse of <see cref="Unpack"/>: quants 0..63 in value order into ql and qh.</summary>
    private void Pack(ReadOnlySpan<sbyte> q)
    {
        for (int n = 0; n < 2; n++)
        {
            for (int l = 0; l < 32; l++)
            {
                int q0 = q[128 * n + l], q1 = q[128 * n + l + 32], q2 = q[128 * n + l + 64], q3 = q[128 * n + l + 96];
                Ql[64 * n + l] = (byte)((q0 & 0x0F) | (q2 & 0x0F) << 4);
                Ql[64 * n + l + 32] = (byte)((q1 & 0x0F) | (q3 & 0x0F) << 4);
                Qh[32 * n + l] = (byte)((q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6);
            }
        }
    }

    /// <summary>
    /// make_qx_quants with rmse_type 1 and no importance weights (weights x²): a symmetric scale for
    /// <paramref name="x"/> with quants l in [-nmax, nmax - 1], stored as l + nmax. Starts from -nmax / max (max =
    /// the first value of largest magnitude), then tries iscale = -(nmax + 0.1 is) / max for is = -9..9 and keeps
    /// the one that maximizes sumlx² / suml2 (strictly better only). Float operations in ggml's order.
    /// </summary>
    internal static float MakeQxQuants(ReadOnlySpan<float> x, int nmax, Span<sbyte> l)
    {
        float max = 0, amax = 0;
        foreach (float v in x)
        {
            if (MathF.Abs(v) > amax)
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }
        if (amax < GroupMaxEps)
        {
            l.Clear();
            return 0;
        }

        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int q = Math.Clamp(QuantMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            l[i] = (sbyte)(q + nmax);
            float w = x[i] * x[i];
            sumlx += w * x[i] * q;
            suml2 += w * q * q;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
                continue;
            iscale = -(nmax + 0.1f * step) / max;
            sumlx = suml2 = 0;
            for (int i = 0; i < x.Length; i++)
            {
                int q = Math.Clamp(QuantMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
                float w = x[i] * x[i];
                sumlx += w * x[i] * q;
                suml2 += w * q * q;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < x.Length; i++)
                    l[i] = (sbyte)(nmax + Math.Clamp(QuantMath.NearestInt(iscale * x[i]), -nmax, nmax - 1));
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }
}
