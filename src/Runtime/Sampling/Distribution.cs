namespace LlamaAot.Sampling;

/// <summary>The final random draw (llama.cpp's <c>llama_sampler_dist_apply</c> and <c>llama_sample_dist</c>).</summary>
internal static class Distribution
{
    /// <summary>
    /// Computes the softmax of the candidates left and draws one with probability <see cref="TokenData.P"/>;
    /// returns its index in <see cref="CandidateSet.Items"/>.
    /// </summary>
    /// <remarks>
    /// Inverse transform, as <c>std::discrete_distribution</c> does: a uniform <c>u</c> in [0, 1) scaled by the sum
    /// of the probabilities (so float rounding in the softmax cannot leave a gap at the end), then the first
    /// candidate whose running sum, in double, exceeds it. One random number per draw. The candidates are walked
    /// in their current order (sorted after top-k), which decides only which stretch of [0, 1) belongs to which
    /// token, not how long it is.
    /// </remarks>
    public static int Draw(CandidateSet candidates, ref Xoshiro256StarStar rng)
    {
        Softmax.Apply(candidates);
        ReadOnlySpan<TokenData> items = candidates.Items;

        double total = 0;
        foreach (ref readonly TokenData t in items)
            total += t.P;

        double target = rng.NextDouble() * total;
        double cumulative = 0;
        for (int i = 0; i < items.Length; i++)
        {
            cumulative += items[i].P;
            if (target < cumulative)
                return i;
        }

        // Only reachable through rounding of the running sum: the last candidate with a non-zero probability.
        int last = items.Length - 1;
        while (last > 0 && items[last].P == 0f)
            last--;
        return last;
    }
}
