namespace LlamaAot.Tokenizers;

/// <summary>
/// The SentencePiece merge of one piece of text (llama.cpp's <c>llm_tokenizer_spm_session::tokenize</c>): split
/// the UTF-8 text into characters, then repeatedly merge the adjacent pair whose concatenation is the
/// best-scoring token, and finally emit each remaining symbol as its token or, if it is none, as byte-fallback
/// tokens.
/// </summary>
/// <remarks>
/// <para>Order of merges: highest score first; among equal scores the leftmost pair (smallest left symbol index),
/// as <c>llm_bigram_spm::comparator</c> orders its <c>std::priority_queue</c>. A queued pair goes stale when either
/// symbol has since merged; it is recognised by its recorded byte size, which can only have grown. At most one
/// live pair exists per left symbol, so score and left index order the live pairs totally, and the heap's own
/// tie-breaking never shows.</para>
/// <para>llama.cpp's <c>resegment</c> also keeps a <c>rev_merge</c> map to split a symbol that is not a token back
/// into the pair it came from. That path is unreachable: a merged symbol is always a token (merging requires it),
/// and an unmerged symbol is one UTF-8 character, which is shorter than any pair whose left half starts with the
/// same lead byte, so it is never a key of that map. Such a symbol always falls back to bytes, as here.</para>
/// </remarks>
internal ref struct SpmSession
{
    private readonly Vocabulary _vocab;
    private readonly ReadOnlySpan<byte> _text;
    private readonly TextSymbol[] _symbols;
    private readonly PriorityQueue<Bigram, ulong> _queue;

    /// <summary>A candidate merge of two adjacent symbols whose concatenation (Size bytes) is a token.</summary>
    private readonly record struct Bigram(int Left, int Right, int Size);

    /// <summary>
    /// The queue order as one integer, smallest first: the score mapped to an order-preserving unsigned integer
    /// and complemented (higher score, smaller key) in the high half, the left index in the low half. -0 is
    /// folded into +0 first, because the C++ comparator's <c>==</c> treats them as equal; NaN scores are rejected
    /// when the vocabulary is loaded.
    /// </summary>
    private static ulong Rank(float score, int left)
    {
        uint bits = BitConverter.SingleToUInt32Bits(score + 0f);
        uint ascending = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
        return ((ulong)~ascending << 32) | (uint)left;
    }

    private SpmSession(Vocabulary vocab, ReadOnlySpan<byte> text)
    {
        _vocab = vocab;
        _text = text;
        _symbols = new TextSymbol[text.Length];
        _queue = new PriorityQueue<Bigram, ulong>();
    }

    /// <summary>Appends the tokens of <paramref name="text"/> (already space-escaped) to <paramref name="output"/>.</summary>
    public static void Tokenize(Vocabulary vocab, ReadOnlySpan<byte> text, List<int> output)
    {
        if (text.IsEmpty)
            return;
        var session = new SpmSession(vocab, text);
        session.SplitCharacters();
        session.Merge();
        session.Emit(output);
    }

    private void SplitCharacters()
    {
        int count = TextSymbol.SplitCharacters(_text, _symbols);
        for (int i = 1; i < count; i++)
            TryAddBigram(i - 1, i);
    }

    private void Merge()
    {
        while (_queue.TryDequeue(out var bigram, out _))
        {
            if (!TextSymbol.TryMerge(_symbols, bigram.Left, bigram.Right, bigram.Size))
                continue;
            TryAddBigram(_symbols[bigram.Left].Prev, bigram.Left);
            TryAddBigram(bigram.Left, _symbols[bigram.Left].Next);
        }
    }

    /// <summary>Queues the pair if its concatenation is a token (<c>try_add_bigram</c>).</summary>
    private void TryAddBigram(int left, int right)
    {
        if (left < 0 || right < 0)
            return;
        int size = _symbols[left].Length + _symbols[right].Length;
        if (!_vocab.TryGetId(_text.Slice(_symbols[left].Start, size), out int id))
            return;
        _queue.Enqueue(new Bigram(left, right, size), Rank(_vocab.GetScore(id), left));
    }

    /// <summary>Each surviving symbol as its token, or its bytes as byte-fallback tokens (<c>resegment</c>).</summary>
    private readonly void Emit(List<int> output)
    {
        for (int i = 0; i != -1; i = _symbols[i].Next)
        {
            var piece = _text.Slice(_symbols[i].Start, _symbols[i].Length);
            if (_vocab.TryGetId(piece, out int id))
            {
                output.Add(id);
                continue;
            }
            foreach (byte b in piece)
                output.Add(_vocab.TokenOfByte(b));
        }
    }
}
