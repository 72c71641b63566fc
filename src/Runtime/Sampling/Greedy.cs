namespace LlamaAot.Sampling;

/// <summary>Greedy choice (llama.cpp's <c>llama_sampler_greedy_apply</c>).</summary>
internal static class Greedy
{
    /// <summary>
    /// The index of the largest logit; on ties the first one wins, since only a strictly larger logit replaces
    /// the current best.
    /// </summary>
    public static int ArgMax(ReadOnlySpan<TokenData> items)
    {
        int best = 0;
        for (int i = 1; i < items.Length; i++)
            if (items[i].Logit > items[best].Logit)
                best = i;
        return best;
    }
}
