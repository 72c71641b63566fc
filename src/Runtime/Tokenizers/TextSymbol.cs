namespace LlamaAot.Tokenizers;

/// <summary>
/// A run of the text being merged, in a doubly linked list of symbols (llama.cpp's <c>llm_symbol</c>); Length 0 once
/// merged into its left neighbour. Shared by the SentencePiece and BPE merges, which differ only in which adjacent
/// pair they merge next.
/// </summary>
internal struct TextSymbol
{
    public int Prev;
    public int Next;
    public int Start;
    public int Length;

    /// <summary>One symbol per UTF-8 character, its length taken from the lead byte alone (<c>unicode_len_utf8</c>); a
    /// stray continuation byte is a symbol of its own and a truncated sequence is cut at the end of the text. Returns
    /// the count; <paramref name="symbols"/> needs room for one per byte.</summary>
    public static int SplitCharacters(ReadOnlySpan<byte> text, Span<TextSymbol> symbols)
    {
        int count = 0;
        for (int offset = 0; offset < text.Length; count++)
        {
            int length = Math.Min(Utf8SequenceLength(text[offset]), text.Length - offset);
            symbols[count] = new TextSymbol
            {
                Prev = count - 1,
                Next = offset + length == text.Length ? -1 : count + 1,
                Start = offset,
                Length = length,
            };
            offset += length;
        }
        return count;
    }

    /// <summary>The length of a UTF-8 sequence from its lead byte alone (<c>unicode_len_utf8</c>).</summary>
    public static int Utf8SequenceLength(byte leadByte) => (leadByte >> 4) switch
    {
        < 0xC => 1,
        0xC or 0xD => 2,
        0xE => 3,
        _ => 4,
    };

    /// <summary>
    /// Merges the right symbol into the left one, unless the queued pair is stale: either side has merged since it
    /// was queued, which shows as a total size other than <paramref name="size"/> (sizes only grow). Returns whether
    /// it merged.
    /// </summary>
    public static bool TryMerge(Span<TextSymbol> symbols, int left, int right, int size)
    {
        ref TextSymbol l = ref symbols[left];
        ref TextSymbol r = ref symbols[right];
        if (l.Length == 0 || r.Length == 0 || l.Length + r.Length != size)
            return false;
        l.Length += r.Length;
        r.Length = 0;
        l.Next = r.Next;
        if (r.Next >= 0)
            symbols[r.Next].Prev = left;
        return true;
    }
}
