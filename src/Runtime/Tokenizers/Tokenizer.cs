using System.Text;

namespace LlamaAot.Tokenizers;

/// <summary>
/// Text to token ids and back for a <see cref="Vocabulary"/> of any <see cref="VocabularyType"/>, matching llama.cpp
/// 0.5.0's <c>llama_tokenize</c>, <c>llama_token_to_piece</c> and <c>llama_detokenize</c>. Thread-safe: it holds
/// only immutable tables.
/// </summary>
public sealed partial class Tokenizer
{
    private readonly Vocabulary _vocab;

    public Tokenizer(Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocab = vocabulary;
        _pieces = BuildPieces(vocabulary);
    }

    public Vocabulary Vocabulary => _vocab;

    /// <summary>Tokenizes text (converted to UTF-8; a lone surrogate becomes U+FFFD).</summary>
    /// <inheritdoc cref="Encode(ReadOnlySpan{byte}, bool, bool)"/>
    public int[] Encode(string text, bool addSpecial, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(Encoding.UTF8.GetBytes(text), addSpecial, parseSpecial);
    }

    /// <summary>
    /// Tokenizes UTF-8 text like llama.cpp 0.5.0's <c>llama_tokenize</c> (<c>llama_vocab::impl::tokenize</c>).
    /// </summary>
    /// <param name="utf8Text">The text; any bytes are accepted (invalid UTF-8 falls back to byte tokens in SPM and is
    /// read as U+FFFD by the other types, as llama.cpp).</param>
    /// <param name="addSpecial">Add BOS first and EOS last, as far as the vocabulary's add_bos / add_eos flags say
    /// (WordPiece: always its CLS and SEP tokens).</param>
    /// <param name="parseSpecial">Recognise the text of control tokens (<c>&lt;s&gt;</c>) in the input as those
    /// tokens. User-defined tokens are recognised either way.</param>
    /// <remarks>
    /// SPM with <see cref="Vocabulary.AddSpacePrefix"/> puts a space before every text fragment that starts the
    /// input or follows a special token, so <c>"a&lt;s&gt;b"</c> parsed with special tokens gives
    /// <c>▁a</c>, <c>&lt;s&gt;</c>, <c>▁b</c>. The empty string gives just BOS (or nothing).
    /// </remarks>
    /// <exception cref="ArgumentException">The text needs an SPM byte-fallback token (or a WordPiece unknown token) the
    /// vocabulary lacks, or a BPE or WordPiece text holds a sequence decoding above U+10FFFF.</exception>
    public int[] Encode(ReadOnlySpan<byte> utf8Text, bool addSpecial, bool parseSpecial)
    {
        var output = new List<int>(utf8Text.Length / 2 + 2);
        bool isWordPiece = _vocab.Type == VocabularyType.Wpm;
        if (addSpecial && (_vocab.AddBos || isWordPiece))
            output.Add(_vocab.Bos!.Value);

        var fragments = SpecialTokenPartition.Split(_vocab, utf8Text, parseSpecial);
        try
        {
            switch (_vocab.Type)
            {
                case VocabularyType.Spm:
                    EncodeSpm(utf8Text, fragments, output);
                    break;
                case VocabularyType.Bpe:
                    EncodeBpe(utf8Text, fragments, output);
                    break;
                default:
                    EncodeWpm(utf8Text, fragments, output);
                    break;
            }
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "codePoint")
        {
            // llama.cpp aborts here ("invalid codepoint"): a 4-byte sequence above U+10FFFF cannot be spelled again.
            throw new ArgumentException(
                "the text holds a UTF-8 sequence for a value above U+10FFFF (lead byte F4 with 90..BF after it, or " +
                "F5..F7), which this vocabulary cannot tokenize: fix the text's encoding", nameof(utf8Text), e);
        }

        if (addSpecial && isWordPiece)
            output.Add(_vocab.Sep!.Value);
        else if (addSpecial && _vocab.AddEos)
            output.Add(_vocab.Eos!.Value);
        return output.ToArray();
    }

    private void EncodeSpm(ReadOnlySpan<byte> utf8Text, List<Fragment> fragments, List<int> output)
    {
        bool afterSpecial = true; // the start of the input counts as "after a special token"
        foreach (var fragment in fragments)
        {
            if (fragment.IsText)
            {
                byte[] escaped = SpaceMarker.Escape(
                    utf8Text.Slice(fragment.Offset, fragment.Length), prefixSpace: _vocab.AddSpacePrefix && afterSpecial);
                SpmSession.Tokenize(_vocab, escaped, output);
                afterSpecial = false;
            }
            else
            {
                output.Add(fragment.Token);
                afterSpecial = true;
            }
        }
    }

    private void EncodeBpe(ReadOnlySpan<byte> utf8Text, List<Fragment> fragments, List<int> output)
    {
        var session = new BpeSession(_vocab);
        foreach (var fragment in fragments)
        {
            if (!fragment.IsText)
            {
                output.Add(fragment.Token);
                continue;
            }
            var text = utf8Text.Slice(fragment.Offset, fragment.Length);
            session.Tokenize(_vocab.PreTokenizerRule.EscapeWhitespace ? SpaceMarker.Escape(text, prefixSpace: false) : text, output);
        }
    }

    private void EncodeWpm(ReadOnlySpan<byte> utf8Text, List<Fragment> fragments, List<int> output)
    {
        foreach (var fragment in fragments)
        {
            if (fragment.IsText)
                WpmSession.Tokenize(_vocab, utf8Text.Slice(fragment.Offset, fragment.Length), output);
            else
                output.Add(fragment.Token);
        }
    }
}
