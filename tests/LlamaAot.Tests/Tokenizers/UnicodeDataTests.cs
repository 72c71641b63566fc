using System.Security.Cryptography;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

public class UnicodeDataTests
{
    /// <summary>
    /// Flags, lowercase and NFD of every value 0..0x11000F, laid out as PreTokenizerFixture/harness.cpp's
    /// <c>tables</c> mode writes llama.cpp's <c>unicode_cpt_flags_from_cpt</c>, <c>unicode_tolower</c> and
    /// <c>unicode_cpts_normalize_nfd</c> (uint16, uint32, uint32 little-endian each), hash to what that gives
    /// (<c>make_fixture.py LLAMA_CPP_DIR SHARED_DIR --tables-sha256</c>).
    /// </summary>
    [Fact]
    public void EqualsLlamaCppsTablesForEveryCodePoint()
    {
        const int End = UnicodeData.CodePointLimit + 16;
        var bytes = new byte[End * 10];
        for (int cp = 0; cp < End; cp++)
        {
            var record = bytes.AsSpan(cp * 10);
            BitConverter.TryWriteBytes(record, (ushort)UnicodeData.Flags(cp));
            BitConverter.TryWriteBytes(record[2..], UnicodeData.ToLower(cp));
            BitConverter.TryWriteBytes(record[6..], UnicodeData.Nfd(cp));
        }
        Assert.Equal("16a15f52d714cb214cff5ae5890d9e837ce796aec0a77870b9de1ea776b05185",
            Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>Where .NET 10 (Unicode 16) says otherwise: code points assigned since llama.cpp's tables were
    /// generated (5,185 of them: letters, symbols, digits, marks, punctuation) are undefined there.</summary>
    [Theory]
    [InlineData(0x1C89)]  // CYRILLIC CAPITAL LETTER TJE: .NET a letter
    [InlineData(0x0897)]  // ARABIC PEPET: .NET a mark
    [InlineData(0x2427)]  // SYMBOL FOR DELETE SQUARE CHECKER BOARD FORM: .NET a symbol
    [InlineData(0x10D40)] // GARAY DIGIT ZERO: .NET a number
    [InlineData(0x1B4E)]  // BALINESE INVERTED CARIK SIKI: .NET punctuation
    public void CodePointsNewerThanTheTablesAreUndefined(int codePoint)
        => Assert.Equal(CodePointFlags.Undefined, UnicodeData.Flags(codePoint));

    /// <summary>.NET's invariant lowercase keeps U+0130 (İ); llama.cpp's table maps it to 'i'.</summary>
    [Fact]
    public void LowercaseOfDottedCapitalIIsI() => Assert.Equal('i', UnicodeData.ToLower(0x0130));

    [Theory]
    [InlineData(0x00E9, 'e')]    // é
    [InlineData(0x1E09, 'c')]    // ḉ: only the first code point of c + cedilla + acute is kept
    [InlineData(0xAC00, 0x1100)] // 가: its leading jamo
    [InlineData(0x1FFFFF, 0x1FFFFF)]
    public void NfdKeepsTheFirstCodePointOfTheDecomposition(int codePoint, int expected)
        => Assert.Equal(expected, UnicodeData.Nfd(codePoint));
}
