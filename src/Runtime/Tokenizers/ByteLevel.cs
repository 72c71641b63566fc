using System.Text;

namespace LlamaAot.Tokenizers;

/// <summary>
/// GPT-2's byte-to-unicode map (<c>bytes_to_unicode</c>; llama.cpp's <c>unicode_byte_to_utf8</c> and
/// <c>unicode_utf8_to_byte</c>): byte-level BPE vocabularies spell every byte as a printable character, so a token's
/// text never holds a space or a control byte. The printable ASCII and Latin-1 bytes stand for themselves; the other
/// 68 map to U+0100 upwards in byte order (space is U+0120 "Ġ", newline U+010A "Ċ").
/// </summary>
internal static class ByteLevel
{
    private static readonly byte[][] Utf8OfByte = BuildUtf8OfByte();
    private static readonly Dictionary<int, byte> ByteOfCodePoint = BuildByteOfCodePoint();

    /// <summary>The UTF-8 spelling of one byte.</summary>
    public static ReadOnlySpan<byte> Encode(byte b) => Utf8OfByte[b];

    /// <summary>The byte a code point spells, if it spells one.</summary>
    public static bool TryDecode(int codePoint, out byte b) => ByteOfCodePoint.TryGetValue(codePoint, out b);

    private static byte[][] BuildUtf8OfByte()
    {
        var table = new byte[256][];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = Encoding.UTF8.GetBytes(char.ConvertFromUtf32(printable ? b : next++));
        }
        return table;
    }

    private static Dictionary<int, byte> BuildByteOfCodePoint()
    {
        var map = new Dictionary<int, byte>(256);
        for (int b = 0; b < 256; b++)
            map.Add(char.ConvertToUtf32(Encoding.UTF8.GetString(Utf8OfByte[b]), 0), (byte)b);
        return map;
    }
}
