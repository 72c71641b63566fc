using System.Diagnostics;

namespace LlamaAot.Sampling;

/// <summary>Repetition, frequency and presence penalties (llama.cpp's <c>llama_sampler_penalties_apply</c>).</summary>
internal static class Penalties
{
    /// <summary>
    /// Lowers the logit of every token that occurs in <paramref name="history"/>, once per distinct token:
    /// <c>logit = logit &lt;= 0 ? logit * repeat : logit / repeat</c>, then
    /// <c>logit -= count * frequency + presence</c>, where <c>count</c> is its occurrences in the window.
    /// </summary>
    /// <remarks>
    /// The candidates must still be in id order (the first step after <see cref="CandidateSet.Load"/>), so each
    /// token is found by index instead of llama.cpp's search of the whole array; the result is the same.
    /// Dividing positive logits and multiplying negative ones is llama.cpp's fix to the CTRL paper, whose plain
    /// division would make a repeated token with a negative logit more likely.
    /// </remarks>
    public static void Apply(CandidateSet candidates, PenaltyHistory history, SamplingOptions options)
    {
        if (!options.PenaltiesEnabled)
            return;

        Span<TokenData> items = candidates.Items;
        float repeat = options.RepeatPenalty, frequency = options.FrequencyPenalty, presence = options.PresencePenalty;
        foreach ((int token, int count) in history.Counts)
        {
            ref TokenData t = ref items[token];
            Debug.Assert(t.Id == token, "penalties run on candidates in id order");
            if (t.Logit <= 0)
                t.Logit *= repeat;
            else
                t.Logit /= repeat;
            t.Logit -= count * frequency + presence;
        }
    }
}
