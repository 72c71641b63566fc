using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class MinPTests
{
    // Five tokens by id: 0.10, 0.40, 0.05, 0.30, 0.15; the largest probability is 0.40 (id 1).

    [Theory]
    [InlineData(0.3f, new[] { 1, 3, 4 })] // threshold 0.3 * 0.40 = 0.12: keeps 0.40, 0.30, 0.15
    [InlineData(0.5f, new[] { 1, 3 })]    // threshold 0.20: keeps 0.40, 0.30
    [InlineData(0.2f, new[] { 0, 1, 3, 4 })] // threshold 0.08: keeps all but 0.05
    [InlineData(1.0f, new[] { 1 })]       // threshold 0.40: only the best
    public void KeepsTokensAtLeastPTimesTheBest(float p, int[] expected)
    {
        // Unsorted path: filters in place, keeping id order.
        var set = FiveTokens();
        MinP.Apply(set, p, minKeep: 1);
        Assert.Equal(expected, Ids(set));

        // Sorted path (after top-k): cuts the sorted list, in rank order.
        set = FiveTokens();
        TopK.Apply(set, 5);
        set.Sort();
        MinP.Apply(set, p, minKeep: 1);
        Assert.Equal(expected.OrderByDescending(id => FiveProbs[id]), Ids(set));
    }

    [Fact]
    public void ThresholdIsRelativeToTheBestNotAbsolute()
    {
        // With min-p 0.3 an absolute threshold of 0.3 would keep only 0.40 and 0.30; min-p also keeps 0.15 >= 0.12.
        var set = FiveTokens();
        MinP.Apply(set, 0.3f, minKeep: 1);
        Assert.Contains(4, Ids(set));
    }

    [Fact]
    public void ATokenExactlyAtTheThresholdIsKept()
    {
        // logits 0 and ln(0.5): p(1) / p(0) = 0.5 exactly, and min-p 0.5 keeps p_i >= 0.5 * p_max.
        var set = Load(0f, MathF.Log(0.5f), MathF.Log(0.25f));
        MinP.Apply(set, 0.5f, minKeep: 1);
        Assert.Equal([0, 1], Ids(set));
    }

    [Fact]
    public void ZeroKeepsEverything()
    {
        var set = FiveTokens();
        MinP.Apply(set, 0f, minKeep: 1);
        Assert.Equal(5, set.Count);
    }

    [Fact]
    public void MinKeepFallsBackToTheSortedCut()
    {
        // min-p 1.0 passes only the best, fewer than min_keep 3: llama.cpp then sorts and keeps the 3 best.
        var set = FiveTokens();
        MinP.Apply(set, 1f, minKeep: 3);
        Assert.Equal([1, 3, 4], Ids(set));
    }

    [Fact]
    public void UnsortedFilterKeepsTheSortedHeadConsistent()
    {
        // A partly sorted set (head of 2 sorted) filtered by the unsorted path: the head's survivors stay first
        // and sorted, and later sorting finishes the order.
        var set = FiveTokens();
        set.SortPrefix(2); // ids 1, 3 first
        MinP.Apply(set, 0.3f, minKeep: 1);
        Assert.Equal(2, set.SortedCount);
        set.Sort();
        Assert.Equal([1, 3, 4], Ids(set));
    }
}
