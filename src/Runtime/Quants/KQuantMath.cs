namespace LlamaAot.Quants;

/// <summary>
/// The scale searches of ggml's K-quant reference quantizers (ggml-quants.c), shared by the formats that use them.
/// Every operation is a single-precision float operation in the order the C source writes it (no fused
/// multiply-adds: llama.cpp's x86-64 ggml-base is built without FMA), so the bytes match llama-quantize's.
/// </summary>
public static class KQuantMath
{
    /// <summary>ggml's GROUP_MAX_EPS: a group whose largest magnitude is below this is all zero.</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// make_qkx2_quants: an asymmetric grid value = scale * L - theMin with L in [0, nmax], fitted to x under the
    /// weights w (|error| when <paramref name="useMad"/>, else squared error). Starts from the min/max grid, then
    /// tries nstep + 1 scales (nmax + rmin + rdelta * is) / (max - min), each with its least-squares scale and min,
    /// and keeps the first one with the strictly lowest error. Writes L, returns the scale; theMin &gt;= 0.
    /// </summary>
    public static float MakeQkx2Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<byte> L,
        out float theMin, Span<byte> laux, float rmin, float rdelta, int nstep, bool useMad)
    {
        int n = x.Length;
        float min = x[0], max = x[0];
        float sumW = w[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min) min = x[i];
            if (x[i] > max) max = x[i];
            sumW += w[i];
            sumX += w[i] * x[i];
        }
        if (min > 0)
            min = 0;
        if (max == min)
        {
            L[..n].Clear();
            theMin = -min;
            return 0;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            L[i] = (byte)Math.Clamp(QuantMath.NearestInt(iscale * (x[i] - min)), 0, nmax);
            bestError += w[i] * Error(scale * L[i] + min - x[i], useMad);
        }
        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }
        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = Math.Clamp(QuantMath.NearestInt(iscale * (x[i] - min)), 0, nmax);
                laux[i] = (byte)l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXL += w[i] * l * x[i];
            }
            float D = sumW * sumL2 - sumL * sumL;
            if (D > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / D;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++)
                    error += w[i] * Error(thisScale * laux[i] + thisMin - x[i], useMad);
                if (error < bestError)
                {
                    laux[..n].CopyTo(L);
                    bestError = error;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin = -min;
        return scale;
    }

    /// <summary>
    /// make_q3_quants with do_rmse: a symmetric grid value = scale * (L - nmax) with L in [0, 2 nmax - 1], weights
    /// x^2. Starts from iscale = -nmax / max (max = the value of largest magnitude, first one wins), then up to five
    /// passes of coordinate descent that move one L at a time when that strictly improves sumlx^2 / suml2. Writes
    /// L, returns sumlx / suml2 (b4748 has no guard for suml2 == 0; it cannot be 0 once a value is nonzero).
    /// An all-zero group gets L = 0 (not nmax) and scale 0, as in ggml.
    /// </summary>
    public static float MakeQ3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> L)
    {
        int n = x.Length;
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < GroupMaxEps)
        {
            L[..n].Clear();
            return 0;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(QuantMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int pass = 0; pass < 5; pass++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int newL = Math.Clamp(QuantMath.NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                    if (newL != L[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            L[i] = (sbyte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0)
                break;
        }
        for (int i = 0; i < n; i++)
            L[i] += (sbyte)nmax;
        return sumlx / suml2;
    }

    private static float Error(float diff, bool useMad) => useMad ? MathF.Abs(diff) : diff * diff;
}
