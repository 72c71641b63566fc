namespace LlamaAot.Sampling;

/// <summary>
/// The candidates the sampling steps narrow down (llama.cpp's <c>llama_token_data_array</c>): one entry per
/// vocabulary token at first, in id order, in a buffer allocated once and reused for every token.
/// </summary>
/// <remarks>
/// Where llama.cpp keeps a flag saying the whole array is sorted, this keeps <see cref="SortedCount"/>: how many
/// leading entries are known to be the best ones, in <see cref="ByRank"/> order, with every later entry ranking
/// below them. A step that needs the head of the order sorts only as much of it as it reads
/// (<see cref="SortPrefix"/>), so a 128k vocabulary is never fully sorted to find a few dozen tokens.
/// </remarks>
internal sealed class CandidateSet
{
    private readonly TokenData[] _items;

    public CandidateSet(int nVocab) => _items = new TokenData[nVocab];

    /// <summary>How many candidates are left.</summary>
    public int Count { get; private set; }

    /// <summary>How many leading candidates are in final order; every candidate after them ranks below them.</summary>
    public int SortedCount { get; private set; }

    /// <summary>True when every candidate is in <see cref="ByRank"/> order (llama.cpp's <c>sorted</c>).</summary>
    public bool IsSorted => SortedCount >= Count;

    /// <summary>The candidates left, in their current order.</summary>
    public Span<TokenData> Items => _items.AsSpan(0, Count);

    /// <summary>
    /// Starts over from a row of logits, one candidate per token in id order, as <c>llama_sampler_sample</c> builds
    /// its array (<c>{ id, logits[id], 0 }</c>).
    /// </summary>
    public void Load(ReadOnlySpan<float> logits)
    {
        for (int id = 0; id < logits.Length; id++)
            _items[id] = new TokenData(id, logits[id]);
        Count = logits.Length;
        SortedCount = 0;
    }

    /// <summary>Makes sure the first <paramref name="count"/> candidates (at most all) are the best ones, sorted.</summary>
    public void SortPrefix(int count)
    {
        count = Math.Min(count, Count);
        if (count <= SortedCount)
            return;
        // Everything from SortedCount on ranks below the sorted head, so selecting within that tail is enough.
        PartialSort.SortTop(_items.AsSpan(SortedCount, Count - SortedCount), count - SortedCount);
        SortedCount = count;
    }

    /// <summary>Sorts every candidate (what llama.cpp's <c>llama_sampler_softmax_impl</c> does first).</summary>
    public void Sort() => SortPrefix(Count);

    /// <summary>Keeps the first <paramref name="count"/> candidates (llama.cpp's <c>cur_p->size = count</c>).</summary>
    public void Truncate(int count)
    {
        Count = count;
        SortedCount = Math.Min(SortedCount, count);
    }

    /// <summary>
    /// Keeps, in their current order, the candidates whose logit is at least <paramref name="minLogit"/>, and
    /// returns how many that is. The sorted head stays a sorted head: its members that pass are a prefix of it.
    /// </summary>
    public int KeepLogitsAtLeast(float minLogit)
    {
        Span<TokenData> items = Items;
        int kept = 0, keptFromSortedHead = 0;
        for (int i = 0; i < items.Length; i++)
        {
            if (items[i].Logit >= minLogit)
            {
                items[kept++] = items[i];
                if (i < SortedCount)
                    keptFromSortedHead++;
            }
        }
        Count = kept;
        SortedCount = keptFromSortedHead;
        return kept;
    }
}
