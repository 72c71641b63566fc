namespace LlamaAot.Sampling;

/// <summary>Top-k filtering (llama.cpp's <c>llama_sampler_top_k_impl</c>).</summary>
internal static class TopK
{
    /// <summary>
    /// Keeps the <paramref name="k"/> best candidates, sorted. <paramref name="k"/> of 0 or less means every
    /// candidate, as does a <paramref name="k"/> larger than the set.
    /// </summary>
    /// <remarks>
    /// llama.cpp sorts the candidates even when k keeps all of them (a full bucket sort of the vocabulary). Here
    /// that sort is left to the later step that reads the order (top-p, min-p or the final softmax), which sorts
    /// only the head it needs; the kept set and every later result are the same. For k below the set size, a
    /// quickselect replaces llama.cpp's partial sort / bucket sort.
    /// </remarks>
    public static void Apply(CandidateSet candidates, int k)
    {
        if (k <= 0 || k >= candidates.Count)
            return;
        candidates.SortPrefix(k);
        candidates.Truncate(k);
    }
}
