using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Quants;

/// <summary>
/// What Q4_K and Q5_K share (ggml-quants.c): the 12-byte packing of eight 6-bit scales and mins, the asymmetric
/// scale search make_qkx2_quants, the quantization of a super-block up to its quants, and the scalar dot core.
/// <para>Packing (get_scale_min_k4): for j &lt; 4, scale = bytes[j] &amp; 63 and min = bytes[j + 4] &amp; 63; for
/// j &gt;= 4, scale = (bytes[j + 4] &amp; 15) | (bytes[j - 4] &gt;&gt; 6) &lt;&lt; 4 and min = (bytes[j + 4] &gt;&gt; 4) |
/// (bytes[j] &gt;&gt; 6) &lt;&lt; 4.</para>
/// </summary>
internal static unsafe class KQuantScaleMin
{
    /// <summary>Bytes of the packed scales and mins (ggml's K_SCALE_SIZE).</summary>
    public const int Bytes = 12;

    /// <summary>get_scale_min_k4: scale and min of sub-block <paramref name="j"/>.</summary>
    public static (int Scale, int Min) Get(int j, ReadOnlySpan<byte> q) => j < 4
        ? (q[j] & 63, q[j + 4] & 63)
        : ((q[j + 4] & 0x0F) | (q[j - 4] >> 6) << 4, (q[j + 4] >> 4) | (q[j] >> 6) << 4);

    /// <summary>
    /// All 8 scales then all 8 mins as bytes (the kmask shuffle of ggml's vec_dot), from the packed bytes read as
    /// three little-endian words: scales 0-3 = w0 &amp; 63, mins 0-3 = w1 &amp; 63, scales 4-7 = low nibbles of w2 with
    /// the top 2 bits of w0's bytes above them, mins 4-7 = high nibbles of w2 with the top 2 bits of w1's bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Unpack(byte* packed)
    {
        uint w0 = Unsafe.ReadUnaligned<uint>(packed), w1 = Unsafe.ReadUnaligned<uint>(packed + 4), w2 = Unsafe.ReadUnaligned<uint>(packed + 8);
        const uint Low6 = 0x3F3F3F3F, Low4 = 0x0F0F0F0F, Bits45 = 0x30303030;
        return Vector128.Create(
            w0 & Low6,
            (w2 & Low4) | ((w0 >> 2) & Bits45),
            w1 & Low6,
            ((w2 >> 4) & Low4) | ((w1 >> 2) & Bits45)).AsByte();
    }

    /// <summary>
    /// The part quantize_row_q4_K_ref and quantize_row_q5_K_ref share: per 32-value sub-block, weights
    /// av_x + |x| (av_x = sqrt(mean x²)) and make_qkx2_quants; scales and mins to 6 bits against the largest of each
    /// (strictly greater, from 0), d = max_scale / 63 and dmin = max_min / 63 as halves; then every value is
    /// requantized against the half-rounded (d * scale, dmin * min) as clamp(round((x + dm) / dq), 0, nmax)
    /// (a sub-block whose d * scale is 0 keeps its make_qkx2_quants quants).
    /// </summary>
    public static void QuantizeSuperBlock(ReadOnlySpan<float> x, int nmax, float rmin, float rdelta, int nstep,
        Span<byte> l, Span<byte> packed, out ushort d, out ushort dmin)
    {
        const int subBlocks = 8, n = 32;
        Span<float> scales = stackalloc float[subBlocks];
        Span<float> mins = stackalloc float[subBlocks];
        Span<float> weights = stackalloc float[n];
        Span<byte> laux = stackalloc byte[n];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < subBlocks; j++)
        {
            var sub = x.Slice(n * j, n);
            float sumX2 = 0;
            foreach (float v in sub)
                sumX2 += v * v;
            float avX = MathF.Sqrt(sumX2 / n);
            for (int i = 0; i < n; i++)
                weights[i] = avX + MathF.Abs(sub[i]);
            scales[j] = MakeQkx2Quants(nmax, sub, weights, l.Slice(n * j, n), out mins[j], laux, rmin, rdelta, nstep, useMad: false);
            if (scales[j] > maxScale)
                maxScale = scales[j];
            if (mins[j] > maxMin)
                maxMin = mins[j];
        }

        Pack(scales, mins, maxScale, maxMin, packed);
        d = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(maxScale / 63f));
        dmin = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(maxMin / 63f));

        float dAll = Fp16.HalfBitsToSingle(d), dMinAll = Fp16.HalfBitsToSingle(dmin);
        for (int j = 0; j < subBlocks; j++)
        {
            var (sc, m) = Get(j, packed);
            float dq = dAll * sc;
            if (dq == 0)
                continue;
            float dm = dMinAll * m;
            for (int i = n * j; i < n * j + n; i++)
                l[i] = (byte)Math.Clamp(QuantMath.NearestInt((x[i] + dm) / dq), 0, nmax);
        }
    }

    /// <summary>
    /// The 8 scales and mins to 6 bits against the largest of each (inverse scale 63 / max, 0 when max is 0), packed
    /// as get_scale_min_k4 reads them.
    /// </summary>
    public static void Pack(ReadOnlySpan<float> scales, ReadOnlySpan<float> mins, float maxScale, float maxMin, Span<byte> packed)
    {
        float invScale = maxScale > 0 ? 63f / maxScale : 0;
        float invMin = maxMin > 0 ? 63f / maxMin : 0;
        packed.Clear();
        for (int j = 0; j < 8; j++)
        {
            // uint8_t ls = nearest_int(...): the int is truncated to a byte before the MIN with 63.
            int ls = Math.Min((byte)63, (byte)QuantMath.NearestInt(invScale * scales[j]));
            int lm = Math.Min((byte)63, (byte)QuantMath.NearestInt(invMin * mins[j]));
            if (j < 4)
            {
                packed[j] = (byte)ls;
                packed[j + 4] = (byte)lm;
            }
            else
            {
                packed[j + 4] = (byte)((ls & 0x0F) | (lm & 0x0F) << 4);
                packed[j - 4] |= (byte)((ls >> 4) << 6);
                packed[j] |= (byte)((lm >> 4) << 6);
            }
        }
    }

    /// <summary>
    /// make_qkx2_quants: an asymmetric quantization value = scale * l - theMin, l in [0, nmax], minimizing the
    /// weighted squared (or absolute, <paramref name="useMad"/>) error. Starts from the grid over [min(0, min x),
    /// max x], then for is = 0..nstep tries iscale = (rmin + rdelta * is + nmax) / (max - min), fits scale and min by
    /// weighted least squares for those quants (min clamped to &lt;= 0) and keeps the strictly better ones.
    /// Float operations in ggml's order.
    /// </summary>
    public static float MakeQkx2Quants(int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l, out float theMin,
        Span<byte> laux, float rmin, float rdelta, int nstep, bool useMad)
    {
        int n = x.Length;
        float min = x[0], max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min)
                min = x[i];
            if (x[i] > max)
                max = x[i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }
        if (min > 0)
            min = 0;
        if (max == min)
        {
            l.Clear();
            theMin = -min;
            return 0;
        }

        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int q = Math.Clamp(QuantMath.NearestInt(iscale * (x[i] - min)), 0, nmax);
            l[i] = (byte)q;
            float diff = scale * q + min - x[i];
            bestError += weights[i] * (useMad ? MathF.Abs(diff) : diff * diff);
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
                int q = Math.Clamp(QuantMath.NearestInt(iscale * (x[i] - min)), 0, nmax);
                laux[i] = (byte)q;
                float w = weights[i];
                sumL += w * q;
                sumL2 += w * q * q;
                sumXL += w * q * x[i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float error = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    error += weights[i] * (useMad ? MathF.Abs(diff) : diff * diff);
                }
                if (error < bestError)
                {
                    laux.CopyTo(l);
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
    /// One super-block of ggml_vec_dot_q4_K_q8_K / ggml_vec_dot_q5_K_q8_K (scalar): the mins meet the activations'
    /// bsums (sum of bsums[2j] + bsums[2j + 1] times min j, an exact int), the quants meet the activations in 8
    /// exact int lanes (lane = value index mod 8) weighted by their sub-block scale; then
    /// sums[lane] += (d * d_x) * lane and the returned min term is (dmin * d_x) * mins.
    /// </summary>
    public static float AccumulateSuperBlock(ReadOnlySpan<byte> q, ReadOnlySpan<byte> packed, ushort d, ushort dmin, in BlockQ8_K x, Span<float> sums)
    {
        Span<int> lanes = stackalloc int[8];
        lanes.Clear();
        int minSum = 0;
        for (int j = 0; j < 8; j++)
        {
            var (scale, min) = Get(j, packed);
            minSum += min * (x.BSums[2 * j] + x.BSums[2 * j + 1]);
            for (int i = 32 * j; i < 32 * j + 32; i++)
                lanes[i % 8] += scale * (q[i] * x.Qs[i]);
        }
        float dAll = Fp16.HalfBitsToSingle(d) * x.D;
        for (int i = 0; i < 8; i++)
            sums[i] += dAll * lanes[i];
        return Fp16.HalfBitsToSingle(dmin) * x.D * minSum;
    }
}
