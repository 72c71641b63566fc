using LlamaAot.Diagnostics;

namespace LlamaAot.Tests.Diagnostics;

/// <summary>
/// A string from a file, quoted in an error: names of ordinary length whole, anything longer cut at a fixed width
/// whatever it holds, binary escaped.
/// </summary>
public class ExcerptTests
{
    [Theory]
    [InlineData("blk.0.attn_q.weight")]
    [InlineData("model.layers.31.post_attention_layernorm.weight")] // 47 characters: a Hugging Face name, once cut at 40
    [InlineData("a.name.of.exactly.sixty.four.characters.is.shown.whole.too.12345")]
    public void NamesOfOrdinaryLengthShowWhole(string name) => Assert.Equal($"'{name}'", Excerpt.Quote(name));

    [Fact]
    public void LongTextIsCutAtTheWidth()
    {
        string quote = Excerpt.Quote(new string('a', 40_000));
        Assert.Equal($"'{new string('a', Excerpt.MaxWidth)}'... (40000 characters)", quote);
    }

    [Fact]
    public void BinaryIsEscapedAndCutAtTheSameWidth()
    {
        // Control bytes take four columns as \xNN; undecodable bytes came back as U+FFFD, six as \ufffd.
        Assert.Equal($"'{string.Concat(Enumerable.Repeat("\\x1b", 16))}'... (1000 characters)", Excerpt.Quote(new string('\u001b', 1000)));
        Assert.Equal("'a\\ufffdb\\x00\\'\\\\'", Excerpt.Quote("a\uFFFDb\0'\\"));
        Assert.True(Excerpt.Quote(new string('\uFFFD', 500)).Length < Excerpt.MaxWidth + 30);
    }

    [Theory]
    [InlineData("/work/shared/models/stories260K/stories260K-Q4_0.gguf")]
    [InlineData("it's a \\ path")] // quotes and backslashes need no escape where nothing is quoted
    public void PrintablePathsShowAsTheyAre(string path) => Assert.Equal(path, Excerpt.Path(path));

    [Fact]
    public void PathWithControlCharactersIsQuotedEscaped() =>
        Assert.Equal("'/tmp/a\\x1b[2Jb\\x0a'", Excerpt.Path("/tmp/a\u001b[2Jb\n"));

    [Fact]
    public void LongPathKeepsItsStartAndEnd()
    {
        string path = "/tmp/" + new string('d', 20_000) + "/model.gguf";
        string shown = Excerpt.Path(path);
        Assert.StartsWith("'/tmp/ddd", shown);
        Assert.EndsWith("ddd/model.gguf' (20016 characters)", shown);
        Assert.Contains("...", shown);
        Assert.True(shown.Length <= Excerpt.MaxPathWidth + 30, shown);
    }
}
