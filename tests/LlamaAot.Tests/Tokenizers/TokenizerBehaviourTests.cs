using System.Diagnostics;
using System.Text;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>Behaviour beyond the golden files: special-token splitting with strip rules, errors, long inputs.</summary>
public class TokenizerBehaviourTests
{
    /// <summary>
    /// Phi-3: user-defined and control tokens split out of the text, the Phi-3 rule that drops whitespace after
    /// special tokens (but not after &lt;s&gt;), and the space prefix after each special token. Expected ids are
    /// llama.cpp's, from the libllama bundled with LLamaSharp 0.30.0 (commit 815a2a591), and checked again with
    /// llama.cpp 0.5.0's llama-tokenize (which agrees on all of them).
    /// </summary>
    public static TheoryData<string, bool, bool, int[]> Phi3SpecialCases() => new()
    {
        { "<|user|>\nHello<|end|>\n<|assistant|>", true, true, [1, 32010, 15043, 32007, 32001] },
        { "<|user|>\nHello<|end|>\n<|assistant|>", false, false,
            [529, 29989, 1792, 29989, 29958, 13, 10994, 29966, 29989, 355, 29989, 29958, 13, 29966, 29989, 465, 22137, 29989, 29958] },
        { "Hi <|end|>  there", false, true, [6324, 29871, 32007, 727] },
        { "a<s>b", false, true, [263, 1, 289] },
        { "a<s>b", true, false, [1, 263, 29966, 29879, 29958, 29890] },
        { "x [PAD32011] y", false, true, [921, 29871, 32011, 343] },
        { "x [PAD32011] y", false, false, [921, 518, 29925, 3035, 29941, 29906, 29900, 29896, 29896, 29962, 343] },
    };

    [Theory]
    [MemberData(nameof(Phi3SpecialCases))]
    public void Phi3SpecialTokensMatchLlamaCpp(string text, bool addSpecial, bool parseSpecial, int[] expected) =>
        Assert.Equal(expected, TestVocabularies.Phi3.Encode(text, addSpecial, parseSpecial));

    /// <summary>
    /// Phi-3's &lt;/s&gt; is user-defined in the file (type 4), but llama.cpp 0.5.0 counts "&lt;/s&gt;" among the
    /// end-of-generation spellings, which makes it control: it is no longer split out of plain text. Expected ids from
    /// llama.cpp 0.5.0: <c>llama-tokenize -m ggml-vocab-phi-3.gguf -p "a&lt;/s&gt;b" --ids [--no-parse-special]</c>.
    /// </summary>
    [Fact]
    public void EndOfGenerationSpellingMakesAUserDefinedTokenControl()
    {
        Assert.Equal(TokenType.Control, TestVocabularies.Phi3.Vocabulary.GetTokenType(2));
        Assert.Equal([1, 263, 829, 29879, 29958, 29890], TestVocabularies.Phi3.Encode("a</s>b", addSpecial: true, parseSpecial: false));
        Assert.Equal([1, 263, 2, 289], TestVocabularies.Phi3.Encode("a</s>b", addSpecial: true, parseSpecial: true));
        Assert.Equal("a b", TestVocabularies.Phi3.Decode([263, 2, 289], removeSpecial: true, unparseSpecial: false));
    }

    [Fact]
    public void UserDefinedTokenIsSplitOutEvenWithoutParseSpecial()
    {
        // A user-defined token that is not spelled like an end-of-generation token stays user-defined.
        var tokenizer = new Tokenizer(Vocabulary.FromGguf(MetadataBuilder.Spm("▁a", "▁b", "<x>")
            .Edit<int>("tokenizer.ggml.token_type", t => t[5] = (int)TokenType.UserDefined).Build()));
        Assert.Equal(TokenType.UserDefined, tokenizer.Vocabulary.GetTokenType(5));
        Assert.Equal([3, 5, 4], tokenizer.Encode("a<x>b", addSpecial: false, parseSpecial: false));
        Assert.Equal("a<x> b", tokenizer.Decode([3, 5, 4], removeSpecial: true, unparseSpecial: false));
    }

    [Fact]
    public void InvalidUtf8FallsBackToByteTokens()
    {
        // A stray continuation byte and a truncated 3-byte sequence: each byte becomes its <0xHH> token (3 + byte).
        byte[] text = [(byte)'a', 0x80, 0xE6, 0x97];
        Assert.Equal([261, 3 + 0x80, 3 + 0xE6, 3 + 0x97], TestVocabularies.Stories260K.Encode(text, addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void MissingByteFallbackTokenIsAClearError()
    {
        var tokenizer = new Tokenizer(Vocabulary.FromGguf(MetadataBuilder.Spm("▁a", "▁", "a").Build()));
        Assert.Equal([3], tokenizer.Encode("a", addSpecial: false, parseSpecial: false));
        // An ArgumentException, which the CLI prints as a plain error line (the fuzz test found the former
        // InvalidOperationException reaching it as an internal error).
        var e = Assert.Throws<ArgumentException>(() => tokenizer.Encode("é", addSpecial: false, parseSpecial: false));
        Assert.Contains("<0xC3>", e.Message);
    }

    [Fact]
    public void AddEosAppendsEosAndRemoveSpecialDropsIt()
    {
        var tokenizer = new Tokenizer(Vocabulary.FromGguf(MetadataBuilder.Spm("▁a", "▁", "a")
            .Set("tokenizer.ggml.add_eos_token", true).Build()));
        int[] ids = tokenizer.Encode("a", addSpecial: true, parseSpecial: false);
        Assert.Equal([1, 3, 2], ids);
        // Removing BOS also keeps the prefix space, as in llama_detokenize.
        Assert.Equal(" a", tokenizer.Decode(ids, removeSpecial: true, unparseSpecial: true));
        Assert.Equal("<s> a</s>", tokenizer.Decode(ids, removeSpecial: false, unparseSpecial: true));
    }

    [Fact]
    public void WithoutSpacePrefixNothingIsAddedOrRemoved()
    {
        var tokenizer = new Tokenizer(Vocabulary.FromGguf(MetadataBuilder.Spm("▁a", "▁", "a")
            .Set("tokenizer.ggml.add_space_prefix", false).Build()));
        Assert.Equal([5], tokenizer.Encode("a", addSpecial: false, parseSpecial: false));
        Assert.Equal([3], tokenizer.Encode(" a", addSpecial: false, parseSpecial: false));
        Assert.Equal(" a", tokenizer.Decode([3], removeSpecial: false, unparseSpecial: false));
    }

    [Fact]
    public void TokenToPieceRejectsIdsOutsideTheVocabulary()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TestVocabularies.Stories260K.TokenToPiece(512, special: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestVocabularies.Stories260K.Decode([1, -1], false, false));
    }

    /// <summary>
    /// 100 KB of varied text in one fragment (no special tokens), through the 32000-token vocabulary. The merge is
    /// O(n log n); a quadratic step would take minutes here, so the generous bound is robust on a busy machine.
    /// </summary>
    [Fact]
    public void HundredKilobytesTokenizeQuicklyAndRoundTrip()
    {
        var tokenizer = TestVocabularies.LlamaSpm;
        var sb = new StringBuilder();
        var rng = new Random(42);
        string[] words = ["Once", "upon", "a", "time", "日本語", "naïve", "🦙", "3.14159", "\n", "  ", "supercalifragilistic", "Привет"];
        while (sb.Length < 100_000)
            sb.Append(words[rng.Next(words.Length)]).Append(' ');
        string text = sb.ToString();

        tokenizer.Encode("warm up", addSpecial: true, parseSpecial: true);
        var clock = Stopwatch.StartNew();
        int[] ids = tokenizer.Encode(text, addSpecial: false, parseSpecial: true);
        clock.Stop();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(text, tokenizer.Decode(ids, removeSpecial: false, unparseSpecial: false));
    }

    /// <summary>llama.cpp aborts on a sequence decoding above U+10FFFF in byte-level text; we refuse it clearly.</summary>
    [Theory]
    [InlineData("llama-bpe")]
    [InlineData("bert-bge")]
    public void CodePointAboveUnicodeIsAClearError(string vocabulary)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            TestVocabularies.Reference(vocabulary).Encode([(byte)'a', 0xF5, 0x80, 0x80, 0x80], addSpecial: false, parseSpecial: false));
        Assert.Contains("above U+10FFFF", e.Message);
    }
}
