namespace LlamaAot.Model;

/// <summary>
/// The tokens of one forward pass (llama.cpp's ubatch): at most <see cref="Capacity"/> of a <see cref="LlamaBatch"/>,
/// already checked against the vocabulary, the sequences and the cache.
/// </summary>
internal sealed class UBatch(int capacity)
{
    public int Capacity => Tokens.Length;
    public int[] Tokens { get; } = new int[capacity];
    public int[] Positions { get; } = new int[capacity];
    public int[] Sequences { get; } = new int[capacity];
    public bool[] WantsLogits { get; } = new bool[capacity];

    /// <summary>Tokens in this pass.</summary>
    public int Count { get; private set; }

    /// <summary>Tokens whose logits are wanted: the rows the forward pass returns, in batch order.</summary>
    public int LogitRows { get; private set; }

    public void Fill(LlamaBatch batch, int start, int count)
    {
        if (count < 1 || count > Capacity)
            throw new ArgumentOutOfRangeException(nameof(count), $"a forward pass takes 1 to {Capacity} tokens, not {count}");
        Count = count;
        LogitRows = 0;
        for (int i = 0; i < count; i++)
        {
            var t = batch[start + i];
            Tokens[i] = t.Token;
            Positions[i] = t.Position;
            Sequences[i] = t.Sequence;
            WantsLogits[i] = t.Logits;
            LogitRows += t.Logits ? 1 : 0;
        }
    }
}
