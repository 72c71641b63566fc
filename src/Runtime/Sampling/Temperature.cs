namespace LlamaAot.Sampling;

/// <summary>Temperature scaling (llama.cpp's <c>llama_sampler_temp_impl</c> for a temperature above 0).</summary>
internal static class Temperature
{
    /// <summary>
    /// Divides every logit by <paramref name="temperature"/> (&gt; 0): below 1 sharpens the distribution, above 1
    /// flattens it. It runs last of the filters, so top-k, top-p and min-p see the unscaled logits. A temperature of
    /// 0 or less never gets here: the sampler is greedy then (see <see cref="Greedy"/>).
    /// </summary>
    public static void Apply(CandidateSet candidates, float temperature)
    {
        foreach (ref TokenData t in candidates.Items)
            t.Logit /= temperature;
    }
}
