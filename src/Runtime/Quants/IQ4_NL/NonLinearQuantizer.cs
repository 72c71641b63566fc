namespace LlamaAot.Quants;

/// <summary>
/// The pieces of ggml's <c>quantize_row_iq4_nl_impl</c> that IQ4_NL and IQ4_XS share, as llama-quantize runs them
/// without an importance matrix (weights = x^2, ntry = 7). All arithmetic is single precision, in ggml's order.
/// </summary>
internal static class NonLinearQuantizer
{
    /// <summary>Values of a 32-value sub-block (both formats search scales per 32 values).</summary>
    public const int SubBlock = 32;

    /// <summary>ggml's GROUP_MAX_EPS: a sub-block whose largest magnitude is below it gets a scale of 0.</summary>
    private const float GroupMaxEps = 1e-15f;

    /// <summary>How many scales on each side of max/127 the search tries (llama-quantize's ntry).</summary>
    private const int Tries = 7;

    /// <summary>
    /// best_index_int8 (llama.cpp b4748 form): the index of the table level nearest to <paramref name="x"/>,
    /// clamped to the ends; a tie between two levels goes to the upper one.
    /// </summary>
    public static int BestIndex(float x)
    {
        var values = BlockIQ4_NL.Values;
        if (x <= values[0])
            return 0;
        if (x >= values[^1])
            return values.Length - 1;
        int lo = 0, hi = values.Length - 1;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (x < values[mid])
                hi = mid;
            else
                lo = mid;
        }
        return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
    }

    /// <summary>
    /// The scale search of quantize_row_iq4_nl_impl for one 32-value sub-block (weights w = x^2): start from
    /// d = max/127 with its least-squares refit, then try id = (itry - 127) / max for itry in -7..7 and keep the
    /// least-squares scale of whichever assignment scores best (sumqx^2 / sumq2, strictly better only).
    /// Returns 0 for a sub-block whose largest magnitude is below 1e-15.
    /// </summary>
    public static float SearchScale(ReadOnlySpan<float> x)
    {
        var values = BlockIQ4_NL.Values;
        Span<float> w = stackalloc float[SubBlock];
        float amax = 0, max = 0;
        for (int j = 0; j < SubBlock; j++)
        {
            w[j] = x[j] * x[j];
            float ax = MathF.Abs(x[j]);
            if (ax > amax)
            {
                amax = ax;
                max = x[j];
            }
        }
        if (amax < GroupMaxEps)
            return 0;

        // First assignment: d = -max / values[0] (= max / 127), then its least-squares scale. ggml has no guard
        // on sumq2 here; it cannot be 0 since the largest value maps to a nonzero level with a nonzero weight.
        float d = -max / values[0];
        var (sumqx, sumq2) = Fit(x, w, 1 / d);
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int itry = -Tries; itry <= Tries; itry++)
        {
            (sumqx, sumq2) = Fit(x, w, (itry + values[0]) / max);
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2)
            {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        return d;
    }

    /// <summary>Assigns each x the level nearest to id * x and returns sum w*q*x and sum w*q*q (ggml's order).</summary>
    private static (float SumQX, float SumQ2) Fit(ReadOnlySpan<float> x, ReadOnlySpan<float> w, float id)
    {
        var values = BlockIQ4_NL.Values;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < SubBlock; j++)
        {
            float q = values[BestIndex(id * x[j])];
            sumqx += w[j] * q * x[j];
            sumq2 += w[j] * q * q;
        }
        return (sumqx, sumq2);
    }

    /// <summary>
    /// The indices of a 32-value sub-block for scale <paramref name="d"/> (id = 1/d, or 0 when d is 0), packed as
    /// both formats store them: byte j = index of value j | index of value j + 16 &lt;&lt; 4.
    /// </summary>
    public static unsafe void Pack(ReadOnlySpan<float> x, float d, byte* qs)
    {
        float id = d != 0 ? 1 / d : 0;
        for (int j = 0; j < SubBlock / 2; j++)
            qs[j] = (byte)(BestIndex(id * x[j]) | BestIndex(id * x[j + SubBlock / 2]) << 4);
    }
}
