namespace LlamaAot.Tokenizers;

/// <summary>
/// Splits text into the words byte-level BPE merges within, as llama.cpp 0.5.0's <c>unicode_regex_split</c> does
/// with the regex list of each <see cref="PreTokenizerKind"/> (without its byte-encoding step).
/// </summary>
/// <remarks>
/// llama.cpp runs its regex lists one after the other, each splitting every piece the previous one left, with two
/// engines: hand-written scanners for the patterns it recognises (PreTokenizer.Scanners.cs, reproduced here branch for
/// branch) and <c>std::regex</c> for the rest, over text in which every non-ASCII code point stands for its Unicode
/// category or for whitespace (PreTokenizer.StdRegex.cs, reproduced with scanners that see the same stand-ins).
/// Nothing here allocates except the growth of the output list.
/// </remarks>
internal static partial class PreTokenizer
{
    /// <summary>
    /// Appends to <paramref name="words"/> the words of <paramref name="codePoints"/> (from
    /// <see cref="Utf8CodePoints.Decode(ReadOnlySpan{byte}, Span{int})"/>), in order, as ranges of indices into
    /// <paramref name="codePoints"/>: together they cover it exactly, none is empty; an empty text has no words.
    /// </summary>
    /// <remarks>Any int is accepted as a code point. llama.cpp throws on values above 0x10FFFF only when it turns
    /// the words back into UTF-8 (see <see cref="Utf8CodePoints.Encode(int, Span{byte})"/>).</remarks>
    public static void Split(PreTokenizerKind kind, ReadOnlySpan<int> codePoints, List<Range> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (codePoints.IsEmpty)
            return;
        int first = words.Count;
        // Each case is the kind's regex list in llama-vocab.cpp's order; the first regex sees the whole text.
        switch (kind)
        {
            case PreTokenizerKind.Default:
                Runs<PunctuationAndSymbols>.Split(codePoints, 0, words);  // [\p{P}\$\+<=>\^~\|]+
                Refine<Gpt2Pattern>(codePoints, words, first);
                Refine<Runs<Numbers>>(codePoints, words, first);         // \p{N}+
                Refine<DigitTriples>(codePoints, words, first);          // [0-9][0-9][0-9]
                break;
            case PreTokenizerKind.Llama3:
                Llama3Pattern.Split(codePoints, 0, words);
                break;
            case PreTokenizerKind.Qwen2:
                Qwen2Pattern.Split(codePoints, 0, words);
                break;
            case PreTokenizerKind.Qwen35:
                Qwen35Pattern.Split(codePoints, 0, words);
                break;
            case PreTokenizerKind.Gpt2:
                Gpt2Pattern.Split(codePoints, 0, words);
                break;
            case PreTokenizerKind.DeepSeekLlm:
                Each<LineBreak>.Split(codePoints, 0, words);                         // [\r\n]
                Refine<SpaceThenRuns<DeepSeekLetters>>(codePoints, words, first);     // \s?[A-Za-zµÀ-Ö...]+
                Refine<SpaceThenRuns<DeepSeekPunctuation>>(codePoints, words, first); // \s?[!-/:-~！-／...]+
                Refine<TrailingWhitespace>(codePoints, words, first);                 // \s+$
                Refine<Runs<CjkAndHangul>>(codePoints, words, first);                 // [一-龥ࠀ-一가-퟿]+
                Refine<Runs<Numbers>>(codePoints, words, first);                      // \p{N}+
                break;
            case PreTokenizerKind.DeepSeekCoder:
                Each<LineBreak>.Split(codePoints, 0, words);                 // [\r\n]
                Refine<SpaceThenRuns<Letters>>(codePoints, words, first);     // \s?\p{L}+
                Refine<SpaceThenRuns<Punctuation>>(codePoints, words, first); // \s?\p{P}+
                Refine<Runs<CjkAndHangul>>(codePoints, words, first);         // [一-龥ࠀ-一가-퟿]+
                Refine<Each<Numbers>>(codePoints, words, first);              // \p{N}
                break;
            case PreTokenizerKind.Falcon:
                Runs<PunctuationSymbolsAndBackquote>.Split(codePoints, 0, words); // [\p{P}\$\+<=>\^~\|`]+
                Refine<Gpt2Pattern>(codePoints, words, first);
                Refine<DigitTriples>(codePoints, words, first);                  // [0-9][0-9][0-9]
                break;
            case PreTokenizerKind.StarCoder:
                Each<Numbers>.Split(codePoints, 0, words); // \p{N}
                Refine<Gpt2Pattern>(codePoints, words, first);
                break;
            case PreTokenizerKind.Lines:
                LineRuns.Split(codePoints, 0, words);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }
    }

    /// <summary>One regex of a list: splits one piece of the text.</summary>
    private interface IPass
    {
        /// <summary>Appends the words of <paramref name="piece"/>, which starts at <paramref name="offset"/> in
        /// the text; the scan sees nothing outside the piece.</summary>
        static abstract void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words);
    }

    /// <summary>Runs <typeparamref name="TPass"/> on each word from <paramref name="first"/> on, putting its
    /// words in their place (one step of <c>unicode_regex_split</c>'s loop over the regex list).</summary>
    private static void Refine<TPass>(ReadOnlySpan<int> codePoints, List<Range> words, int first) where TPass : IPass
    {
        int count = words.Count - first;
        for (int i = first; i < first + count; i++)
        {
            (int start, int length) = words[i].GetOffsetAndLength(codePoints.Length);
            TPass.Split(codePoints.Slice(start, length), start, words);
        }
        words.RemoveRange(first, count);
    }

    /// <summary>Writes the words of one piece as llama.cpp's scanners and its <c>std::regex</c> loop emit them.</summary>
    private struct WordWriter(List<Range> words, int offset)
    {
        private int _end; // where the last word ended, within the piece

        /// <summary>llama.cpp's <c>_add_token(end)</c>: the word from the last one's end to <paramref name="end"/>,
        /// if not empty.</summary>
        public void EndAt(int end)
        {
            if (end > _end)
                words.Add(new Range(offset + _end, offset + end));
            _end = end;
        }

        /// <summary><c>unicode_regex_split_stl</c>'s step for a match: the text before it, then the match.</summary>
        public void Match(int start, int end)
        {
            EndAt(start);
            EndAt(end);
        }
    }
}
