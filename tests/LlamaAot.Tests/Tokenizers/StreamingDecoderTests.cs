using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>Byte tokens in stories260K are &lt;0xHH&gt; = 3 + HH; ids below are checked against the vocabulary.</summary>
public class StreamingDecoderTests
{
    private static Tokenizer Tok => TestVocabularies.Stories260K;

    private static int ByteToken(byte b)
    {
        Assert.True(Tok.Vocabulary.TryGetId($"<0x{b:X2}>", out int id));
        return id;
    }

    [Fact]
    public void CharacterSplitOverByteTokensIsHeldBackUntilComplete()
    {
        // "日" = E6 97 A5, which stories260K can only spell with byte tokens (llama.cpp: 233, 154, 168).
        int[] ids = Tok.Encode("日", addSpecial: false, parseSpecial: false);
        Assert.Equal([410, 233, 154, 168], ids);
        Assert.Equal([233, 154, 168], new[] { ByteToken(0xE6), ByteToken(0x97), ByteToken(0xA5) });

        var decoder = new StreamingDecoder(Tok);
        Assert.Equal(" ", decoder.Push(410));
        Assert.Equal("", decoder.Push(233));
        Assert.Equal("", decoder.Push(154));
        Assert.Equal("日", decoder.Push(168));
        Assert.Equal("", decoder.Flush());
    }

    [Fact]
    public void EmojiOfFourByteTokens()
    {
        // 🙂 = F0 9F 99 82 (llama.cpp: 243, 162, 156, 133).
        var decoder = new StreamingDecoder(Tok);
        string[] outputs = new[] { 243, 162, 156, 133 }.Select(decoder.Push).ToArray();
        Assert.Equal(["", "", "", "🙂"], outputs);
    }

    [Fact]
    public void TextAfterACompleteCharacterComesOutAtOnce()
    {
        var decoder = new StreamingDecoder(Tok);
        int[] ids = Tok.Encode("emoji 🦙 llama", addSpecial: false, parseSpecial: false);
        string text = string.Concat(ids.Select(decoder.Push)) + decoder.Flush();
        Assert.Equal("emoji 🦙 llama", text.TrimStart(' ')); // the space prefix is not stripped while streaming
        Assert.Equal(" emoji 🦙 llama", text);
    }

    [Fact]
    public void InvalidSequenceBecomesReplacementCharacter()
    {
        var decoder = new StreamingDecoder(Tok);
        Assert.Equal("", decoder.Push(ByteToken(0xE6)));
        Assert.Equal("\uFFFD a", decoder.Push(261)); // "▁a" cannot continue E6
        Assert.Equal("\uFFFD", decoder.Push(ByteToken(0xFF))); // never valid in UTF-8
    }

    [Fact]
    public void FlushReleasesAnIncompleteCharacterAsReplacementAndResets()
    {
        var decoder = new StreamingDecoder(Tok);
        Assert.Equal("", decoder.Push(ByteToken(0xF0)));
        Assert.Equal("", decoder.Push(ByteToken(0x9F)));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal(" a", decoder.Push(261));
    }

    [Fact]
    public void ControlTokensAreHiddenUnlessSpecial()
    {
        Assert.Equal("", new StreamingDecoder(Tok).Push(2));
        Assert.Equal("</s>", new StreamingDecoder(Tok, special: true).Push(2));
    }

    [Fact]
    public void RejectsAnIdOutsideTheVocabulary() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new StreamingDecoder(Tok).Push(512));
}
