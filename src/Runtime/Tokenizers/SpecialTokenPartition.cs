namespace LlamaAot.Tokenizers;

/// <summary>A run of the input: raw text (<see cref="Token"/> &lt; 0) to be tokenized, or one special token.</summary>
internal readonly record struct Fragment(int Offset, int Length, int Token)
{
    public bool IsText => Token < 0;

    public static Fragment Text(int offset, int length) => new(offset, length, -1);

    public static Fragment Special(int token) => new(0, 0, token);
}

/// <summary>
/// Splits special tokens out of the input before the SentencePiece merge (llama.cpp's
/// <c>llama_vocab::impl::tokenizer_st_partition</c>). Special tokens are tried one at a time, longest text first;
/// each splits every remaining text fragment at all its non-overlapping occurrences, leftmost first.
/// User-defined tokens are always split out; control and unknown tokens only when parsing special tokens.
/// </summary>
internal static class SpecialTokenPartition
{
    /// <summary>The fragments of <paramref name="text"/> in order. Fragments of text are never empty.</summary>
    public static List<Fragment> Split(Vocabulary vocab, ReadOnlySpan<byte> text, bool parseSpecial)
    {
        var fragments = new List<Fragment>();
        if (text.IsEmpty)
            return fragments;
        fragments.Add(Fragment.Text(0, text.Length));

        var next = new List<Fragment>();
        foreach (int token in vocab.SpecialTokensLongestFirst)
        {
            TokenAttributes attributes = vocab.GetAttributes(token);
            if (!parseSpecial && (attributes & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0)
                continue;

            next.Clear();
            foreach (var fragment in fragments)
            {
                if (fragment.IsText)
                    SplitAt(text, fragment, token, vocab.GetUtf8Text(token), attributes, next);
                else
                    next.Add(fragment);
            }
            (fragments, next) = (next, fragments);
        }
        return fragments;
    }

    /// <summary>Appends <paramref name="fragment"/> split at every occurrence of the token's text, dropping
    /// whitespace beside each occurrence when the token has the LStrip / RStrip attribute.</summary>
    private static void SplitAt(
        ReadOnlySpan<byte> text, Fragment fragment, int token, ReadOnlySpan<byte> tokenText,
        TokenAttributes attributes, List<Fragment> output)
    {
        int start = fragment.Offset;
        int end = fragment.Offset + fragment.Length;
        while (true)
        {
            int found = text[start..end].IndexOf(tokenText);
            if (found < 0)
            {
                if (end > start)
                    output.Add(Fragment.Text(start, end - start));
                return;
            }

            int match = start + found;
            int leftEnd = match;
            if ((attributes & TokenAttributes.LStrip) != 0)
            {
                while (leftEnd > start && IsSpace(text[leftEnd - 1]))
                    leftEnd--;
            }
            if (leftEnd > start)
                output.Add(Fragment.Text(start, leftEnd - start));

            output.Add(Fragment.Special(token));

            start = match + tokenText.Length;
            if ((attributes & TokenAttributes.RStrip) != 0)
            {
                while (start < end && IsSpace(text[start]))
                    start++;
            }
        }
    }

    /// <summary>C's <c>isspace</c> in the "C" locale: space, \t, \n, \v, \f, \r.</summary>
    private static bool IsSpace(byte b) => b == (byte)' ' || b is >= 0x09 and <= 0x0D;
}
