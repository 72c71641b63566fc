using LlamaAot.Sampling;

namespace LlamaAot.Tests.Sampling;

/// <summary>Small helpers shared by the sampling tests.</summary>
internal static class Candidates
{
    /// <summary>
    /// The five-token distribution most step tests use, as probabilities by token id. The logits are their natural
    /// logs, so a softmax over all five gives these probabilities back. By rank: id 1 (0.40), id 3 (0.30),
    /// id 4 (0.15), id 0 (0.10), id 2 (0.05).
    /// </summary>
    public static readonly float[] FiveProbs = [0.10f, 0.40f, 0.05f, 0.30f, 0.15f];

    public static float[] Logs(params float[] probs) => probs.Select(p => MathF.Log(p)).ToArray();

    public static CandidateSet Load(params float[] logits)
    {
        var set = new CandidateSet(logits.Length);
        set.Load(logits);
        return set;
    }

    public static CandidateSet FiveTokens() => Load(Logs(FiveProbs));

    public static int[] Ids(CandidateSet set) => set.Items.ToArray().Select(t => t.Id).ToArray();

    public static float[] LogitsOf(CandidateSet set) => set.Items.ToArray().Select(t => t.Logit).ToArray();

    /// <summary>Random logits drawn from a few values only, so that many of them tie.</summary>
    public static float[] RandomLogits(int n, int seed, int distinctValues = 0)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n)
            .Select(_ => distinctValues > 0 ? random.Next(distinctValues) * 0.5f - 3f : (float)(random.NextDouble() * 20 - 10))
            .ToArray();
    }

    /// <summary>The order the steps must produce, by an independent full sort: larger logit first, then smaller id.</summary>
    public static int[] RankedIds(float[] logits) =>
        Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).ToArray();
}
