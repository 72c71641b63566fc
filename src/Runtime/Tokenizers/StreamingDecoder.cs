using System.Text;

namespace LlamaAot.Tokenizers;

/// <summary>
/// Turns generated tokens into text one token at a time. A UTF-8 character whose bytes arrive over several
/// tokens (byte-fallback tokens such as <c>&lt;0xF0&gt;&lt;0x9F&gt;&lt;0x99&gt;&lt;0x82&gt;</c> for 🙂) is held back
/// until it is complete; bytes that cannot form a character become U+FFFD.
/// </summary>
/// <remarks>
/// Pieces are those of <see cref="Tokenizer.TokenToPiece"/>, unstripped, as llama.cpp's examples print generated
/// tokens. Not thread-safe: one decoder per stream.
/// </remarks>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _special;
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[16];

    /// <param name="tokenizer">Supplies the pieces.</param>
    /// <param name="special">Render control tokens (such as <c>&lt;/s&gt;</c>) as their text.</param>
    public StreamingDecoder(Tokenizer tokenizer, bool special = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
        _special = special;
    }

    /// <summary>Adds one token and returns the text it completes, possibly empty.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public string Push(int tokenId)
    {
        _tokenizer.Vocabulary.CheckId(tokenId);
        return Convert(_tokenizer.GetPiece(tokenId, _special), flush: false);
    }

    /// <summary>Ends the stream: returns U+FFFD for an incomplete character still held back, and resets.</summary>
    public string Flush() => Convert([], flush: true);

    private string Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        int needed = _utf8.GetCharCount(bytes, flush);
        if (needed > _chars.Length)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        int written = _utf8.GetChars(bytes, _chars, flush);
        return new string(_chars, 0, written);
    }
}
