namespace LlamaAot.Tokenizers;

/// <summary>
/// SentencePiece writes a space as U+2581 LOWER ONE EIGHTH BLOCK ("▁", UTF-8 E2 96 81) inside token texts.
/// llama.cpp swaps the two with <c>llama_escape_whitespace</c> before tokenizing and
/// <c>llama_unescape_whitespace</c> when turning a normal token into text. Only the ASCII space is affected; a "▁"
/// already in the input therefore tokenizes as a space.
/// </summary>
internal static class SpaceMarker
{
    private static ReadOnlySpan<byte> Marker => [0xE2, 0x96, 0x81];

    /// <summary>The text with every space replaced by the marker, optionally after one leading space (the
    /// <c>add_space_prefix</c> rule of <c>llama_vocab::impl::tokenize</c>).</summary>
    public static byte[] Escape(ReadOnlySpan<byte> text, bool prefixSpace)
    {
        int spaces = text.Count((byte)' ');
        var escaped = new byte[(prefixSpace ? Marker.Length : 0) + text.Length + spaces * (Marker.Length - 1)];
        int at = 0;
        if (prefixSpace)
        {
            Marker.CopyTo(escaped);
            at = Marker.Length;
        }
        foreach (byte b in text)
        {
            if (b == (byte)' ')
            {
                Marker.CopyTo(escaped.AsSpan(at));
                at += Marker.Length;
            }
            else
            {
                escaped[at++] = b;
            }
        }
        return escaped;
    }

    /// <summary>The text with every marker replaced by a space.</summary>
    public static byte[] Unescape(ReadOnlySpan<byte> text)
    {
        var result = new List<byte>(text.Length);
        while (true)
        {
            int at = text.IndexOf(Marker);
            if (at < 0)
                break;
            result.AddRange(text[..at]);
            result.Add((byte)' ');
            text = text[(at + Marker.Length)..];
        }
        result.AddRange(text);
        return result.ToArray();
    }
}
