namespace LlamaAot.Tokenizers;

/// <summary>
/// WordPiece (llama.cpp 0.5.0's <c>llm_tokenizer_wpm_session</c>): normalize the text (NFD and accent stripping,
/// lower-casing, as the vocabulary's normalizer options say), split it into words at whitespace and around
/// punctuation, ASCII symbols and CJK ideographs, then cover each word, prefixed with U+2581, by the longest tokens
/// from the left; a word that cannot be covered becomes the unknown token.
/// </summary>
internal static class WpmSession
{
    /// <summary>Appends the tokens of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public static void Tokenize(Vocabulary vocab, ReadOnlySpan<byte> text, List<int> output)
    {
        var codePoints = new List<int>(text.Length);
        Utf8CodePoints.Decode(text, codePoints);
        foreach (var w in Words(vocab, codePoints))
            TokenizeWord(vocab, w, output);
    }

    /// <summary><c>preprocess</c>: the words, each as UTF-8, never empty.</summary>
    private static List<byte[]> Words(Vocabulary vocab, List<int> codePoints)
    {
        var words = new List<byte[]>();
        var current = new List<byte>();
        void Finish()
        {
            if (current.Count > 0)
                words.Add(current.ToArray());
            current.Clear();
        }

        foreach (int original in codePoints)
        {
            int cp = vocab.StripAccents ? UnicodeData.Nfd(original) : original;
            var flags = UnicodeData.Flags(cp);
            if ((flags & CodePointFlags.Whitespace) != 0)
            {
                Finish();
                continue;
            }
            if (cp is 0 or 0xFFFD || (flags & CodePointFlags.Control) != 0 ||
                (vocab.StripAccents && (flags & CodePointFlags.AccentMark) != 0))
                continue;
            int c = vocab.Lowercase ? UnicodeData.ToLower(cp) : cp;
            if ((flags & CodePointFlags.Punctuation) != 0 || (cp < 0x7F && (flags & CodePointFlags.Symbol) != 0) || IsChineseCharacter(cp))
            {
                Finish();
                AppendUtf8(current, c);
                Finish();
            }
            else
            {
                AppendUtf8(current, c);
            }
        }
        Finish();
        return words;
    }

    /// <summary>Greedy longest match from the left over "▁" + word; if some position matches nothing, the whole
    /// word becomes UNK.</summary>
    private static void TokenizeWord(Vocabulary vocab, byte[] word, List<int> output)
    {
        byte[] marked = [0xE2, 0x96, 0x81, .. word];
        int start = output.Count;
        for (int i = 0; i < marked.Length;)
        {
            int end = Math.Min(marked.Length, i + vocab.MaxTokenLength + 1);
            for (; end > i; end--)
            {
                if (vocab.TryGetId(marked.AsSpan(i, end - i), out int id))
                {
                    output.Add(id);
                    break;
                }
            }
            if (end == i)
            {
                output.RemoveRange(start, output.Count - start);
                break;
            }
            i = end;
        }
        if (output.Count == start)
            output.Add(vocab.Unk ?? throw new ArgumentException("the text has a word the WordPiece vocabulary cannot cover, and the vocabulary has no unknown token to stand for it"));
    }

    /// <summary>The CJK ideograph blocks of BERT's <c>_is_chinese_char</c> (with the Hugging Face Rust bound
    /// 0x2B920 that llama.cpp copies).</summary>
    private static bool IsChineseCharacter(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B920 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    private static void AppendUtf8(List<byte> bytes, int cp)
    {
        Span<byte> utf8 = stackalloc byte[4];
        bytes.AddRange(utf8[..Utf8CodePoints.Encode(cp, utf8)]);
    }
}
