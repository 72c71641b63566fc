using System.Text;

namespace LlamaAot.Tokenizers;

/// <summary>Token ids to text: <c>llama_token_to_piece</c> and <c>llama_detokenize</c>.</summary>
public sealed partial class Tokenizer
{
    /// <summary>Each token's bytes as shown when special tokens are rendered (llama.cpp's
    /// <c>cache_token_to_piece</c>, built with special = true).</summary>
    private readonly byte[][] _pieces;

    /// <summary>
    /// The bytes a token stands for (<c>llama_token_to_piece</c> with lstrip 0): a normal token's text with U+2581
    /// turned into spaces (SPM, WordPiece, Gemma 4) or its byte-level spelling read back to bytes (BPE), a byte
    /// token's byte, a user-defined token's text. Control and unknown tokens give their
    /// text when <paramref name="special"/> is true and nothing otherwise; unused and undefined tokens give nothing.
    /// A piece can be part of a UTF-8 character; see <see cref="StreamingDecoder"/>.
    /// </summary>
    public byte[] TokenToPiece(int id, bool special) => GetPiece(_vocab.CheckId(id), special).ToArray();

    /// <summary>
    /// Joins the pieces of <paramref name="ids"/> into text like <c>llama_detokenize</c>: the first piece loses one
    /// leading space when the vocabulary adds a space prefix, except that with <paramref name="removeSpecial"/> a
    /// leading BOS (when the vocabulary adds BOS) is dropped instead and the space is kept; a trailing EOS is
    /// dropped likewise when the vocabulary adds EOS. Control tokens elsewhere are rendered only with
    /// <paramref name="unparseSpecial"/>. Bytes that are not valid UTF-8 become U+FFFD. (llama.cpp's
    /// <c>clean_spaces</c> pass is off for SPM vocabularies and not implemented.)
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids, bool removeSpecial, bool unparseSpecial) =>
        Encoding.UTF8.GetString(DecodeToUtf8(ids, removeSpecial, unparseSpecial));

    /// <summary><see cref="Decode"/> without the final UTF-8 decoding: exactly llama.cpp's output bytes.</summary>
    public byte[] DecodeToUtf8(ReadOnlySpan<int> ids, bool removeSpecial, bool unparseSpecial)
    {
        foreach (int id in ids)
            _vocab.CheckId(id);

        bool removeSpace = _vocab.AddSpacePrefix;
        if (removeSpecial && _vocab.AddBos && ids.Length > 0 && ids[0] == _vocab.Bos)
        {
            removeSpace = false;
            ids = ids[1..];
        }
        if (removeSpecial && _vocab.AddEos && ids.Length > 0 && ids[^1] == _vocab.Eos)
            ids = ids[..^1];

        var text = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            var piece = GetPiece(id, unparseSpecial);
            // The first token is stripped even if its piece is hidden; either way only the first one is.
            if (removeSpace && !piece.IsEmpty && piece[0] == (byte)' ')
                piece = piece[1..];
            removeSpace = false;
            text.AddRange(piece);
        }
        return _vocab.CleanSpaces ? CleanSpaces(text.ToArray()) : text.ToArray();
    }

    /// <summary>The three passes of <c>llama_detokenize</c>'s <c>clean_spaces</c>, on bytes, each reading the
    /// previous one's output.</summary>
    internal static byte[] CleanSpaces(byte[] text)
    {
        // " ?", " !", " .", " ,": drop the space.
        var first = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (i > 0 && text[i - 1] == ' ' && text[i] is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',')
                first.RemoveAt(first.Count - 1);
            first.Add(text[i]);
        }
        // " ' ": drop both spaces around a lone apostrophe.
        // llama.cpp overwrites the dropped space after it with NUL, which the next step reads as its left neighbour.
        var second = new List<byte>(first.Count);
        int dropped = -1;
        for (int i = 0; i < first.Count; i++)
        {
            byte x = first[i];
            if (i > 0 && x == '\'' && i + 1 < first.Count && i - 1 != dropped && first[i - 1] == ' ' && first[i + 1] == ' ')
            {
                second.RemoveAt(second.Count - 1);
                second.Add(x);
                dropped = ++i;
                continue;
            }
            second.Add(x);
        }
        // " 's", " 'm", " 're", " 've": drop the space.
        var third = new List<byte>(second.Count);
        for (int i = 0; i < second.Count; i++)
        {
            byte x = second[i];
            if (i > 0 && second[i - 1] == ' ' && x == '\'' && i + 1 < second.Count)
            {
                byte x1 = second[i + 1];
                bool contraction = x1 is (byte)'s' or (byte)'m' ||
                    (i + 2 < second.Count && (x1, second[i + 2]) is ((byte)'r', (byte)'e') or ((byte)'v', (byte)'e'));
                if (contraction)
                    third.RemoveAt(third.Count - 1);
            }
            third.Add(x);
        }
        return third.ToArray();
    }

    /// <summary><c>llama_vocab::impl::token_to_piece</c> without the copy: control and unknown tokens are hidden
    /// unless <paramref name="special"/>.</summary>
    internal ReadOnlySpan<byte> GetPiece(int id, bool special) =>
        !special && (_vocab.GetAttributes(id) & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0
            ? default
            : _pieces[id];

    private static byte[][] BuildPieces(Vocabulary vocab)
    {
        var pieces = new byte[vocab.Count][];
        for (int id = 0; id < pieces.Length; id++)
        {
            TokenAttributes attributes = vocab.GetAttributes(id);
            ReadOnlySpan<byte> text = vocab.GetUtf8Text(id);
            if ((attributes & (TokenAttributes.Control | TokenAttributes.Unknown | TokenAttributes.UserDefined)) != 0)
                pieces[id] = text.ToArray();
            else if ((attributes & TokenAttributes.Normal) != 0)
                pieces[id] = vocab.Type != VocabularyType.Bpe || vocab.PreTokenizerRule.EscapeWhitespace
                    ? SpaceMarker.Unescape(text)
                    : DecodeByteLevel(text);
            else if ((attributes & TokenAttributes.Byte) != 0)
                pieces[id] = [vocab.ByteOfToken(id)];
            else
                pieces[id] = []; // unused and undefined tokens: "suppressing them like CONTROL tokens"
        }
        return pieces;
    }

    /// <summary><c>llama_decode_text</c>: each character of a byte-level token back to its byte; a character that
    /// spells no byte becomes <c>[UNK_BYTE_0x..]</c> with its UTF-8 bytes in hex.</summary>
    private static byte[] DecodeByteLevel(ReadOnlySpan<byte> text)
    {
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in System.Text.Encoding.UTF8.GetString(text).EnumerateRunes())
        {
            if (ByteLevel.TryDecode(rune.Value, out byte b))
            {
                bytes.Add(b);
                continue;
            }
            int n = rune.EncodeToUtf8(utf8);
            bytes.AddRange("[UNK_BYTE_0x"u8);
            foreach (byte u in utf8[..n])
                bytes.AddRange(System.Text.Encoding.ASCII.GetBytes(u.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));
            bytes.Add((byte)']');
        }
        return bytes.ToArray();
    }
}
