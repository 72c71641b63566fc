using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class TopPTests
{
    // Five tokens by rank: id 1 (0.40), id 3 (0.30), id 4 (0.15), id 0 (0.10), id 2 (0.05).
    // Running sums: 0.40, 0.70, 0.85, 0.95, 1.00. The p values below stay well away from those sums so float
    // rounding cannot move the cut.

    [Theory]
    [InlineData(0.75f, new[] { 1, 3, 4 })]    // 0.70 < 0.75 <= 0.85: the token that crosses p (id 4) is kept
    [InlineData(0.72f, new[] { 1, 3, 4 })]    // same cut: "at least p", not "strictly below p"
    [InlineData(0.65f, new[] { 1, 3 })]       // 0.40 < 0.65 <= 0.70
    [InlineData(0.30f, new[] { 1 })]          // the best token alone already reaches p
    [InlineData(0.90f, new[] { 1, 3, 4, 0 })] // 0.85 < 0.90 <= 0.95
    [InlineData(0.99f, new[] { 1, 3, 4, 0, 2 })]
    public void KeepsTheSmallestHeadReachingP(float p, int[] expected)
    {
        // Unsorted input (top-k did not run): the step sorts the head it needs.
        var set = FiveTokens();
        TopP.Apply(set, p, minKeep: 1);
        Assert.Equal(expected, Ids(set));

        // Sorted input (top-k ran first, as in the default chain): the same cut.
        set = FiveTokens();
        TopK.Apply(set, 5);
        set.Sort();
        TopP.Apply(set, p, minKeep: 1);
        Assert.Equal(expected, Ids(set));
    }

    [Fact]
    public void ProbabilitiesAreRelativeToTheSetLeftByTopK()
    {
        // After top-k 3 the set is ids 1, 3, 4 with 0.40, 0.30, 0.15 renormalized over 0.85:
        // 0.4706, 0.3529, 0.1765; running sums 0.4706, 0.8235, 1.0. With p = 0.8 the cut is after id 3. Over the
        // full set (sums 0.40, 0.70, 0.85) the same p would also keep id 4.
        var set = FiveTokens();
        TopK.Apply(set, 3);
        TopP.Apply(set, 0.8f, minKeep: 1);
        Assert.Equal([1, 3], Ids(set));
        Assert.Equal(0.4f / 0.85f, set.Items[0].P, 1e-6f);
        Assert.Equal(0.3f / 0.85f, set.Items[1].P, 1e-6f);

        set = FiveTokens();
        TopP.Apply(set, 0.8f, minKeep: 1);
        Assert.Equal([1, 3, 4], Ids(set));
    }

    [Fact]
    public void MinKeepHoldsMoreThanPWouldKeep()
    {
        var set = FiveTokens();
        TopP.Apply(set, 0.3f, minKeep: 3);
        Assert.Equal([1, 3, 4], Ids(set));
    }

    [Fact]
    public void POfOneChangesNothingAndDoesNotSort()
    {
        var set = FiveTokens();
        TopP.Apply(set, 1f, minKeep: 1);
        Assert.Equal([0, 1, 2, 3, 4], Ids(set));
        Assert.Equal(0, set.SortedCount);
    }

    [Fact]
    public void LargeUnsortedVocabularyMatchesAReferenceInDouble()
    {
        // 20000 logits spread so that p = 0.9 needs a few hundred tokens: the lazy sort has to grow its head
        // several times. The reference sorts everything and sums in double.
        float[] logits = RandomLogits(20000, seed: 5).Select(x => x * 0.5f).ToArray();
        int[] ranked = RankedIds(logits);
        double max = logits.Max();
        double[] e = ranked.Select(i => Math.Exp(logits[i] - max)).ToArray();
        double sum = e.Sum(), running = 0;
        int expectedCount = 0;
        while (running < 0.9 * sum)
            running += e[expectedCount++];
        Assert.InRange(expectedCount, 200, 19000); // the scenario is what it claims to be

        var set = Load(logits);
        TopP.Apply(set, 0.9f, minKeep: 1);

        Assert.Equal(ranked.Take(expectedCount), Ids(set));
    }
}
