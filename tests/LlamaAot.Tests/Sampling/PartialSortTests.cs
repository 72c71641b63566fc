using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class PartialSortTests
{
    public static TheoryData<int, int> Sizes()
    {
        var data = new TheoryData<int, int>();
        foreach (int n in new[] { 1, 2, 3, 7, 64, 1000, 5000 })
            foreach (int count in new[] { 1, 2, n / 2, n - 1, n }.Where(c => c >= 1 && c <= n).Distinct())
                data.Add(n, count);
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void SortTopGivesTheHeadOfAFullSort(int n, int count)
    {
        // Ties are common (8 distinct values), so the id tie-break is exercised, and a quickselect that mishandles
        // equal keys would show up as a wrong head or an out-of-range index.
        foreach (int distinct in new[] { 0, 8 })
        {
            float[] logits = RandomLogits(n, seed: n * 31 + count, distinctValues: distinct);
            var set = Load(logits);

            PartialSort.SortTop(set.Items, count);

            Assert.Equal(RankedIds(logits).Take(count), Ids(set).Take(count));
            // Nothing is lost or duplicated: the tail holds exactly the other tokens.
            Assert.Equal(Enumerable.Range(0, n), Ids(set).Order());
        }
    }

    [Fact]
    public void SortPrefixGrowsTheSortedHeadStepByStep()
    {
        float[] logits = RandomLogits(3000, seed: 7, distinctValues: 50);
        var set = Load(logits);

        foreach (int prefix in new[] { 1, 5, 64, 65, 1000, 3000 })
        {
            set.SortPrefix(prefix);
            Assert.Equal(prefix, set.SortedCount);
            Assert.Equal(RankedIds(logits).Take(prefix), Ids(set).Take(prefix));
        }
        Assert.True(set.IsSorted);
    }

    [Fact]
    public void NaNLogitsRankLastAndDoNotBreakTheSelection()
    {
        float[] logits = [1f, float.NaN, 3f, float.NaN, 2f, -1f];
        var set = Load(logits);

        set.SortPrefix(3);

        Assert.Equal([2, 4, 0], Ids(set).Take(3));
        set.Sort();
        Assert.Equal([2, 4, 0, 5, 1, 3], Ids(set));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(2500)]
    public void SortAndHeapSortAgreeWithAFullSort(int n)
    {
        // The heapsort is introsort's fallback for deep recursion, which random data never reaches: test it alone.
        float[] logits = RandomLogits(n, seed: n + 1, distinctValues: 12);
        var set = Load(logits);
        PartialSort.Sort(set.Items);
        Assert.Equal(RankedIds(logits), Ids(set));

        set = Load(logits);
        PartialSort.HeapSort(set.Items);
        Assert.Equal(RankedIds(logits), Ids(set));
    }
}
