using System.Runtime.InteropServices;
using System.Text;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

public class PreTokenizerTests
{
    public static TheoryData<string> Kinds => new(Enum.GetNames<PreTokenizerKind>());

    /// <summary>Every case of the fixture (see <see cref="PreTokenizerFixture"/>): the same words as llama.cpp, or,
    /// where llama.cpp throws, a code point above U+10FFFF that <see cref="Utf8CodePoints.Encode(int, Span{byte})"/>
    /// refuses as llama.cpp's <c>unicode_cpt_to_utf8</c> does.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void SplitsAsLlamaCpp(string kindName)
    {
        var kind = Enum.Parse<PreTokenizerKind>(kindName);
        var failures = new List<string>();
        int compared = 0;
        var words = new List<Range>();
        foreach (var c in PreTokenizerFixture.Cases)
        {
            int[] codePoints = Decode(c.Text);
            string expected = c.Expected[kind];
            if (expected.StartsWith('!'))
            {
                int beyond = Array.Find(codePoints, cp => cp > 0x10FFFF);
                Assert.True(beyond > 0, $"llama.cpp throws on {PreTokenizerFixture.Describe(c)}, which has no code point above U+10FFFF");
                Assert.Throws<ArgumentOutOfRangeException>(() => Utf8CodePoints.Encode(beyond, new byte[4]));
            }
            else
            {
                words.Clear();
                PreTokenizer.Split(kind, codePoints, words);
                string actual = string.Join(' ', words.Select(w => w.GetOffsetAndLength(codePoints.Length).Length));
                if (actual != expected)
                    failures.Add($"{PreTokenizerFixture.Describe(c)}: expected [{expected}], got [{actual}]");
            }
            compared++;
        }
        Assert.Empty(failures);
        Assert.True(compared > 300, $"only {compared} cases");
    }

    /// <summary>Non-ASCII whitespace reaches llama.cpp's std::wregex as 0x0B, so DeepSeek's [一-龥ࠀ-一]+ (which spans
    /// U+3000) and its CJK punctuation class [　-。] never match U+3000: every code point here is a word alone.</summary>
    [Fact]
    public void DeepSeekClassesDoNotMatchWhitespaceTheyContain()
        => Assert.Equal(["中", "\u3000", "文", "。", "\u3000", "、"], SplitToStrings(PreTokenizerKind.DeepSeekLlm, "中\u3000文。\u3000、"));

    /// <summary>U+1C89 (CYRILLIC CAPITAL LETTER TJE) is a letter since Unicode 16 (.NET 10) but unassigned in
    /// llama.cpp 0.5.0's tables, so it does not continue the word "a".</summary>
    [Fact]
    public void CodePointsNewerThanLlamaCppsTablesAreNotLetters()
        => Assert.Equal(["a", "\u1C89b"], SplitToStrings(PreTokenizerKind.Llama3, "a\u1C89b"));

    [Fact]
    public void SplitAppendsAfterWordsAlreadyInTheList()
    {
        var words = new List<Range> { 5..7 };
        PreTokenizer.Split(PreTokenizerKind.Gpt2, Decode("Hello world"u8), words);
        Assert.Equal([5..7, 0..5, 5..11], words);
    }

    /// <summary>The only allocation is the list's growth: none with room enough (every kind, on all the fixture's
    /// valid texts joined).</summary>
    [Fact]
    public void SplitAllocatesNothingWhenTheListHasRoom()
    {
        int[] codePoints = PreTokenizerFixture.Cases.Where(c => !c.Expected[PreTokenizerKind.Gpt2].StartsWith('!'))
            .SelectMany(c => Decode(c.Text)).ToArray();
        var words = new List<Range>(codePoints.Length);
        foreach (var kind in Enum.GetValues<PreTokenizerKind>())
        {
            PreTokenizer.Split(kind, codePoints, words); // builds the tables
            words.Clear();
            long before = GC.GetAllocatedBytesForCurrentThread();
            PreTokenizer.Split(kind, codePoints, words);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            words.Clear();
        }
    }

    [Fact]
    public void EmptyTextHasNoWords()
    {
        foreach (var kind in Enum.GetValues<PreTokenizerKind>())
        {
            var words = new List<Range>();
            PreTokenizer.Split(kind, [], words);
            Assert.Empty(words);
        }
    }

    private static int[] Decode(ReadOnlySpan<byte> utf8)
    {
        var codePoints = new List<int>();
        Utf8CodePoints.Decode(utf8, codePoints);
        return codePoints.ToArray();
    }

    private static string[] SplitToStrings(PreTokenizerKind kind, string text)
    {
        int[] codePoints = Decode(Encoding.UTF8.GetBytes(text));
        var words = new List<Range>();
        PreTokenizer.Split(kind, codePoints, words);
        return words.Select(w => string.Concat(codePoints[w].Select(char.ConvertFromUtf32))).ToArray();
    }
}
