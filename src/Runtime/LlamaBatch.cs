using System.Collections;

namespace LlamaAot;

/// <summary>One token of a <see cref="LlamaBatch"/>: its id, where it goes, and whether its logits are wanted.</summary>
/// <param name="Token">The token id.</param>
/// <param name="Position">Its position in its sequence: the sequence's length so far, then one more per token.</param>
/// <param name="Sequence">The sequence (conversation) it extends, 0 to <see cref="ContextOptions.Sequences"/> - 1.</param>
/// <param name="Logits">Whether <see cref="LlamaContext.Decode"/> returns the logits after this token.</param>
public readonly record struct BatchToken(int Token, int Position, int Sequence, bool Logits);

/// <summary>
/// Tokens of one or more sequences evaluated in one pass (llama.cpp's llama_batch). Each sequence's tokens continue
/// it in order: the first at the sequence's length (<see cref="LlamaContext.SequenceLength"/>), the next one after it.
/// Tokens attend only to their own sequence, so several conversations decode together as they would alone.
/// </summary>
/// <example>
/// <code>
/// var batch = new LlamaBatch();
/// batch.Add(first, position: 0, sequence: 0, logits: true);
/// batch.Add(second, position: 0, sequence: 1, logits: true);
/// float[] logits = context.Decode(batch); // two rows of nVocab: sequence 0's, then sequence 1's
/// </code>
/// </example>
public sealed class LlamaBatch : IReadOnlyList<BatchToken>
{
    private readonly List<BatchToken> _tokens = [];

    public int Count => _tokens.Count;

    public BatchToken this[int index] => _tokens[index];

    public void Add(int token, int position, int sequence = 0, bool logits = false) => _tokens.Add(new BatchToken(token, position, sequence, logits));

    /// <summary>Adds <paramref name="tokens"/> at positions from <paramref name="position"/> on; logits for the last one only.</summary>
    public void AddSequence(ReadOnlySpan<int> tokens, int position, int sequence = 0)
    {
        for (int i = 0; i < tokens.Length; i++)
            Add(tokens[i], position + i, sequence, logits: i == tokens.Length - 1);
    }

    public void Clear() => _tokens.Clear();

    /// <summary>Tokens whose logits are wanted: the rows <see cref="LlamaContext.Decode"/> returns.</summary>
    public int LogitRows => _tokens.Count(t => t.Logits);

    public IEnumerator<BatchToken> GetEnumerator() => _tokens.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
