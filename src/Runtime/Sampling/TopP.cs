namespace LlamaAot.Sampling;

/// <summary>Top-p (nucleus) filtering (llama.cpp's <c>llama_sampler_top_p_apply</c>).</summary>
internal static class TopP
{
    // How much of the order to sort at first when the candidates are not sorted yet (top-k disabled); the sorted
    // head then doubles until the probabilities add up to p. A peaked distribution crosses p inside the first chunk.
    private const int FirstChunk = 64;

    /// <summary>
    /// Keeps the most likely candidates, in order, up to and including the first one at which their probabilities
    /// add up to at least <paramref name="p"/>, and never fewer than <paramref name="minKeep"/>. A
    /// <paramref name="p"/> of 1 or more keeps everything (and, as in llama.cpp, computes nothing).
    /// </summary>
    /// <remarks>
    /// Probabilities are llama.cpp's: <c>exp(logit - max) / sum</c> in float, accumulated in float, over the
    /// candidates as they are now (after top-k, before temperature). When the candidates are already sorted (top-k
    /// ran) the denominator is summed in sorted order as in llama.cpp; otherwise it is summed in the current order,
    /// which can differ from llama.cpp's in the last bit only. The walk sorts the head lazily rather than the
    /// whole vocabulary.
    /// </remarks>
    public static void Apply(CandidateSet candidates, float p, int minKeep)
    {
        if (p >= 1f)
            return;

        candidates.SortPrefix(1); // the best candidate first: its logit is the max
        float max = candidates.Items[0].Logit;
        float sum = Softmax.Denominator(candidates.Items, max);

        float cumulative = 0f;
        int count = candidates.Count;
        for (int i = 0; i < count; i++)
        {
            if (i == candidates.SortedCount)
                candidates.SortPrefix(Math.Max(FirstChunk, 2 * i));

            ref TokenData t = ref candidates.Items[i];
            t.P = MathF.Exp(t.Logit - max) / sum;
            cumulative += t.P;
            if (cumulative >= p && i + 1 >= minKeep)
            {
                candidates.Truncate(i + 1);
                return;
            }
        }
    }
}
