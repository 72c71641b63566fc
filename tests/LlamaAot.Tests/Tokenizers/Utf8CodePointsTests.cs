using System.Text;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

public class Utf8CodePointsTests
{
    /// <summary>The fixture's texts that are not valid UTF-8 (stray continuation bytes, overlong forms, surrogates,
    /// truncated sequences, F5..FF lead bytes) decode to the code points llama.cpp's <c>unicode_cpts_from_utf8</c>
    /// gives.</summary>
    [Fact]
    public void DecodesInvalidUtf8AsLlamaCpp()
    {
        var invalid = PreTokenizerFixture.Cases.Where(c => c.CodePoints is not null).ToList();
        Assert.True(invalid.Count > 50, $"only {invalid.Count} cases");
        foreach (var c in invalid)
        {
            var codePoints = new int[c.Text.Length];
            int count = Utf8CodePoints.Decode(c.Text, codePoints);
            Assert.Equal(c.CodePoints, codePoints[..count]);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0xC0, 0xAF }, new[] { 0x2F })]                       // overlong '/'
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, new[] { 0xD800 })]               // a surrogate
    [InlineData(new byte[] { 0xF7, 0xBF, 0xBF, 0xBF }, new[] { 0x1FFFFF })]       // beyond Unicode
    [InlineData(new byte[] { 0xE4, 0xB8, 0x41 }, new[] { 0xFFFD, 0xFFFD, 0x41 })] // truncated: one per byte
    [InlineData(new byte[] { 0xF8, 0x88, 0x80 }, new[] { 0xFFFD, 0xFFFD, 0xFFFD })]
    public void DecodesLikeLlamaCpp(byte[] utf8, int[] expected)
    {
        var codePoints = new List<int> { -1 };
        Utf8CodePoints.Decode(utf8, codePoints);
        Assert.Equal([-1, .. expected], codePoints);
    }

    /// <summary>Long ASCII stretches take a vectorized path: every length and offset of it against plain UTF-8.</summary>
    [Fact]
    public void DecodesAsciiAroundOtherCodePoints()
    {
        var random = new Random(3);
        for (int length = 0; length < 80; length++)
        {
            string text = string.Concat(Enumerable.Range(0, length).Select(_ => random.Next(12) == 0 ? "é😀" : ((char)random.Next(0x20, 0x7F)).ToString()));
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            var codePoints = new int[utf8.Length];
            int count = Utf8CodePoints.Decode(utf8, codePoints);
            Assert.Equal(text.EnumerateRunes().Select(r => r.Value), codePoints[..count]);
        }
    }

    [Fact]
    public void EncodesEveryCodePointAsDecodeReadsIt()
    {
        var bytes = new byte[4];
        var back = new int[4];
        var wrong = new List<int>();
        for (int cp = 0; cp <= 0x10FFFF; cp++)
        {
            int length = Utf8CodePoints.Encode(cp, bytes);
            // surrogates take 3 bytes, as llama.cpp writes them
            int expectedLength = Rune.IsValid(cp) ? new Rune(cp).Utf8SequenceLength : 3;
            if (length != expectedLength || Utf8CodePoints.Decode(bytes.AsSpan(0, length), back) != 1 || back[0] != cp)
                wrong.Add(cp);
        }
        Assert.Empty(wrong);
        Assert.Throws<ArgumentOutOfRangeException>(() => Utf8CodePoints.Encode(0x110000, bytes));
    }

    [Fact]
    public void DecodeNeedsRoomForOneCodePointPerByte()
        => Assert.Throws<ArgumentException>(() => Utf8CodePoints.Decode("abc"u8, new int[2]));
}
