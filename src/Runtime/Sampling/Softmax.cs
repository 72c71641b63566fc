namespace LlamaAot.Sampling;

/// <summary>The softmax over the candidates (llama.cpp's <c>llama_sampler_softmax_impl</c>).</summary>
internal static class Softmax
{
    /// <summary>
    /// Sets each candidate's <see cref="TokenData.P"/> to <c>exp(logit - max) / sum</c>, in float, summing in the
    /// current order. Subtracting the largest logit keeps <c>exp</c> from overflowing.
    /// </summary>
    /// <remarks>
    /// llama.cpp sorts the candidates first. After top-k (the default chain) they are sorted already and the sums
    /// are the same; otherwise the order changes only the rounding of the sum, so the sort is skipped rather than
    /// paid for on a whole vocabulary.
    /// </remarks>
    public static void Apply(CandidateSet candidates)
    {
        Span<TokenData> items = candidates.Items;
        float max = MaxLogit(items);
        float sum = 0f;
        foreach (ref TokenData t in items)
        {
            t.P = MathF.Exp(t.Logit - max);
            sum += t.P;
        }
        foreach (ref TokenData t in items)
            t.P /= sum;
    }

    /// <summary>
    /// The softmax denominator <c>sum(exp(logit - max))</c> over the candidates in their current order: what top-p
    /// needs before it walks the sorted head. <paramref name="max"/> is the largest logit.
    /// </summary>
    public static float Denominator(ReadOnlySpan<TokenData> items, float max)
    {
        float sum = 0f;
        foreach (ref readonly TokenData t in items)
            sum += MathF.Exp(t.Logit - max);
        return sum;
    }

    private static float MaxLogit(ReadOnlySpan<TokenData> items)
    {
        float max = items[0].Logit;
        foreach (ref readonly TokenData t in items)
            max = max < t.Logit ? t.Logit : max;
        return max;
    }
}
