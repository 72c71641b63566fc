namespace LlamaAot.Sampling;

/// <summary>Min-p filtering (llama.cpp's <c>llama_sampler_min_p_apply</c>).</summary>
internal static class MinP
{
    /// <summary>
    /// Keeps the candidates whose probability is at least <paramref name="p"/> times that of the most likely one,
    /// and never fewer than <paramref name="minKeep"/>. Works on logits, without a softmax: <c>p_i &gt;= p * p_max</c>
    /// is <c>logit_i &gt;= max_logit + ln(p)</c>. A <paramref name="p"/> of 0 or less keeps everything.
    /// </summary>
    /// <remarks>
    /// Both of llama.cpp's paths: on unsorted candidates, filter in place and keep the result when it has at least
    /// <paramref name="minKeep"/> candidates; otherwise (sorted candidates, or too few left) sort and cut where the
    /// logits fall below the threshold, keeping at least <paramref name="minKeep"/>.
    /// </remarks>
    public static void Apply(CandidateSet candidates, float p, int minKeep)
    {
        if (p <= 0f || candidates.Count == 0)
            return;

        if (!candidates.IsSorted)
        {
            float maxLogit = float.MinValue; // llama.cpp starts from -FLT_MAX
            foreach (ref readonly TokenData t in candidates.Items)
                maxLogit = maxLogit < t.Logit ? t.Logit : maxLogit; // std::max, which ignores a NaN logit
            float threshold = maxLogit + MathF.Log(p);

            int passing = 0;
            foreach (ref readonly TokenData t in candidates.Items)
                if (t.Logit >= threshold)
                    passing++;
            if (passing >= minKeep)
            {
                candidates.KeepLogitsAtLeast(threshold);
                return;
            }
        }

        candidates.Sort();
        Span<TokenData> items = candidates.Items;
        float minLogit = items[0].Logit + MathF.Log(p);
        int i = 1; // the first candidate always stays
        while (i < items.Length && !(items[i].Logit < minLogit && i >= minKeep))
            i++;
        candidates.Truncate(i);
    }
}
