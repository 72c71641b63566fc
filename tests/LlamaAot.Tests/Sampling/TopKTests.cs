using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class TopKTests
{
    [Fact]
    public void KeepsTheKMostLikelyInOrder()
    {
        // Probabilities by id: 0.10, 0.40, 0.05, 0.30, 0.15. The two largest are id 1 (0.40) and id 3 (0.30).
        var set = FiveTokens();
        TopK.Apply(set, 2);
        Assert.Equal([1, 3], Ids(set));
        Assert.True(set.IsSorted);
    }

    [Fact]
    public void KOfOneKeepsOnlyTheBest()
    {
        var set = FiveTokens();
        TopK.Apply(set, 1);
        Assert.Equal([1], Ids(set));
    }

    [Theory]
    [InlineData(0)]  // disabled
    [InlineData(-3)] // llama.cpp: k <= 0 means the whole set
    [InlineData(5)]  // exactly the set
    [InlineData(9)]  // larger than the set
    public void KOfZeroOrAtLeastTheSetSizeKeepsEverything(int k)
    {
        var set = FiveTokens();
        TopK.Apply(set, k);
        Assert.Equal(5, set.Count);
        Assert.Equal([0, 1, 2, 3, 4], Ids(set).Order());
    }

    [Fact]
    public void TiesAtTheCutKeepTheLowerId()
    {
        // ids 1 and 2 tie at 2.0 for the single place: the lower id wins, as greedy's "first max" does.
        var set = Load(1f, 2f, 2f, 0f);
        TopK.Apply(set, 1);
        Assert.Equal([1], Ids(set));

        set = Load(1f, 2f, 2f, 0f);
        TopK.Apply(set, 3);
        Assert.Equal([1, 2, 0], Ids(set));
    }

    [Fact]
    public void LargeVocabularyMatchesAFullSort()
    {
        float[] logits = RandomLogits(32000, seed: 11);
        var set = Load(logits);
        TopK.Apply(set, 40);
        Assert.Equal(RankedIds(logits).Take(40), Ids(set));
    }
}
