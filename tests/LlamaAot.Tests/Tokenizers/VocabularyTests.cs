using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

public class VocabularyTests
{
    [Fact]
    public void Stories260KHasLlamaCppsSpecialTokensAndFlags()
    {
        var vocab = TestVocabularies.Stories260K.Vocabulary;
        Assert.Equal(512, vocab.Count);
        Assert.Equal((1, 2, 0), (vocab.Bos, vocab.Eos, vocab.Unk));
        Assert.True(vocab.AddBos);
        Assert.False(vocab.AddEos);
        Assert.True(vocab.AddSpacePrefix);
        // The file sets padding and separator to 0xFFFFFFFF ("none"): they stay unset, as in llama.cpp.
        Assert.Null(vocab.Pad);
        Assert.Null(vocab.Eot);
        Assert.Equal("<0x0A>", vocab.GetText(13));
        Assert.Equal(TokenType.Byte, vocab.GetTokenType(13));
        Assert.Equal(TokenType.Control, vocab.GetTokenType(1));
        Assert.Equal(TokenType.Unknown, vocab.GetTokenType(0));
        Assert.Equal("▁", vocab.GetText(410));
        Assert.Equal(TokenType.Normal, vocab.GetTokenType(410));
        Assert.True(vocab.TryGetId("▁", out int space));
        Assert.Equal(410, space);
        Assert.False(vocab.TryGetId("not a token", out _));
    }

    [Fact]
    public void EndOfGenerationIsJustEosForStories260K()
    {
        var vocab = TestVocabularies.Stories260K.Vocabulary;
        Assert.Equal([2], Enumerable.Range(0, vocab.Count).Where(vocab.IsEndOfGeneration));
    }

    /// <summary>Phi-3 has no EOT key: llama.cpp finds &lt;|end|&gt; and &lt;|endoftext|&gt; by their text.</summary>
    [Fact]
    public void EndOfGenerationIncludesTokensSpelledLikeEndOfTurn()
    {
        var vocab = TestVocabularies.Phi3.Vocabulary;
        Assert.Equal(32000, vocab.Eos); // <|endoftext|>
        // llama.cpp 0.5.0 also counts </s> (id 2), spelled like paddleocr's end token.
        Assert.Equal([2, 32000, 32007], Enumerable.Range(0, vocab.Count).Where(vocab.IsEndOfGeneration));
        Assert.Equal(32000, vocab.Eot); // the lower of the two candidates
        Assert.Equal(TokenType.Control, vocab.GetTokenType(32007));
    }

    [Fact]
    public void EndOfTurnSpellingBecomesControlEvenWhenTheFileSaysNormal()
    {
        var vocab = Vocabulary.FromGguf(MetadataBuilder.Spm("a", "<|im_end|>").Build());
        Assert.Equal(4, vocab.Eot);
        Assert.True(vocab.IsEndOfGeneration(4));
        Assert.Equal(TokenType.Control, vocab.GetTokenType(4));
        Assert.Equal(TokenType.Normal, vocab.GetTokenType(3));
    }

    [Fact]
    public void AbsentKeysTakeLlamaCppsSpmDefaults()
    {
        var vocab = Vocabulary.FromGguf(MetadataBuilder.Spm("a")
            .Remove("tokenizer.ggml.scores")
            .Remove("tokenizer.ggml.token_type")
            .Build());
        Assert.Equal((1, 2, 0), (vocab.Bos, vocab.Eos, vocab.Unk));
        Assert.True(vocab.AddBos && vocab.AddSpacePrefix && !vocab.AddEos);
        Assert.Equal(0f, vocab.GetScore(3));
        Assert.Equal(TokenType.Normal, vocab.GetTokenType(0)); // without token types every token is normal
    }

    [Fact]
    public void MetadataOverridesDefaults()
    {
        var vocab = Vocabulary.FromGguf(MetadataBuilder.Spm("a", "b")
            .Set("tokenizer.ggml.bos_token_id", 3u)
            .Set("tokenizer.ggml.eos_token_id", 4u)
            .Set("tokenizer.ggml.add_bos_token", false)
            .Set("tokenizer.ggml.add_eos_token", true)
            .Set("tokenizer.ggml.add_space_prefix", false)
            .Build());
        Assert.Equal((3, 4), (vocab.Bos, vocab.Eos));
        Assert.False(vocab.AddBos);
        Assert.True(vocab.AddEos);
        Assert.False(vocab.AddSpacePrefix);
    }

    [Fact]
    public void EmptyTokenTextIsRenamedLikeLlamaCpp()
    {
        var vocab = Vocabulary.FromGguf(MetadataBuilder.Spm("a", "").Build());
        Assert.Equal("[EMPTY_4]", vocab.GetText(4));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(512)]
    public void AccessorsRejectIdsOutsideTheVocabulary(int id)
    {
        var vocab = TestVocabularies.Stories260K.Vocabulary;
        Assert.Throws<ArgumentOutOfRangeException>(() => vocab.GetText(id));
        Assert.Throws<ArgumentOutOfRangeException>(() => vocab.GetScore(id));
        Assert.Throws<ArgumentOutOfRangeException>(() => vocab.GetTokenType(id));
        Assert.False(vocab.IsEndOfGeneration(id));
    }

    [Theory]
    [InlineData("rwkv", "RWKV")]
    [InlineData("t5", "Unigram")]
    [InlineData("mystery", "mystery")]
    public void OtherTokenizerModelsAreNotSupported(string model, string expectedInMessage)
    {
        var metadata = MetadataBuilder.Spm("a").Set("tokenizer.ggml.model", model).Build();
        var e = Assert.Throws<NotSupportedException>(() => Vocabulary.FromGguf(metadata));
        Assert.Contains($"'{model}'", e.Message);
        Assert.Contains(expectedInMessage, e.Message);
    }

    public static TheoryData<string, string> BadMetadata() => new()
    {
        { "no tokenizer.ggml.model", "'tokenizer.ggml.model'" },
        { "no tokens", "'tokenizer.ggml.tokens'" },
        { "tokens not strings", "'tokenizer.ggml.tokens'" },
        { "scores too short", "'tokenizer.ggml.scores' has 3 entries but 'tokenizer.ggml.tokens' has 4" },
        { "token types too long", "'tokenizer.ggml.token_type' has 5 entries but 'tokenizer.ggml.tokens' has 4" },
        { "NaN score", "score of token 3 is NaN" },
        { "bos id out of range", "'tokenizer.ggml.bos_token_id' = 4 is not a token id: the vocabulary has 4 tokens" },
        { "eos id negative", "'tokenizer.ggml.eos_token_id' = -7 is not a token id" },
        { "eot id not an integer", "'tokenizer.ggml.eot_token_id' is String, expected an integer token id" },
        { "adds EOS it lacks", "adds a Eos token (tokenizer.ggml.add_eos_token or its default is true) but has no Eos token id" },
        { "BPE without merges", "'tokenizer.ggml.merges'" },
        { "duplicate token text", "tokens 3 and 4 have the same text 'a'" },
        { "malformed byte token", "token 3 is a byte token but its text '<0xZZ>' is not <0xHH>" },
        { "add_bos not a bool", "'tokenizer.ggml.add_bos_token' is UInt32" },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void BadMetadataIsRejectedWithAClearMessage(string problem, string expectedInMessage)
    {
        var builder = problem switch
        {
            "no tokenizer.ggml.model" => MetadataBuilder.Spm("a").Remove("tokenizer.ggml.model"),
            "no tokens" => MetadataBuilder.Spm("a").Remove("tokenizer.ggml.tokens"),
            "tokens not strings" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.tokens", new[] { 1, 2, 3, 4 }),
            "scores too short" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.scores", new float[3]),
            "token types too long" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.token_type", new[] { 1, 1, 1, 1, 1 }),
            "NaN score" => MetadataBuilder.Spm("a").Edit<float>("tokenizer.ggml.scores", s => s[3] = float.NaN),
            "bos id out of range" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.bos_token_id", 4u),
            "eos id negative" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.eos_token_id", -7),
            "eot id not an integer" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.eot_token_id", "3"),
            "adds EOS it lacks" => new MetadataBuilder()
                .Set("tokenizer.ggml.model", "llama")
                .Set("tokenizer.ggml.tokens", new[] { "<unk>", "<s>" })
                .Set("tokenizer.ggml.add_eos_token", true),
            "BPE without merges" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.model", "gpt2"),
            "duplicate token text" => MetadataBuilder.Spm("a", "a"),
            "malformed byte token" => MetadataBuilder.Spm("<0xZZ>").Edit<int>("tokenizer.ggml.token_type", t => t[3] = 6),
            "add_bos not a bool" => MetadataBuilder.Spm("a").Set("tokenizer.ggml.add_bos_token", 1u),
            _ => throw new ArgumentException(problem),
        };
        var e = Assert.Throws<GgufFormatException>(() => Vocabulary.FromGguf(builder.Build()));
        Assert.Contains(expectedInMessage, e.Message);
    }

    [Fact]
    public void NoneValueForAnIdKeepsTheDefault()
    {
        var vocab = Vocabulary.FromGguf(MetadataBuilder.Spm("a")
            .Set("tokenizer.ggml.bos_token_id", uint.MaxValue)
            .Set("tokenizer.ggml.padding_token_id", -1)
            .Build());
        Assert.Equal(1, vocab.Bos);
        Assert.Null(vocab.Pad);
    }

    /// <summary>llama.cpp 0.5.0 drops a default id the vocabulary is too small for (b4748 kept it).</summary>
    [Fact]
    public void DefaultIdOutsideTheVocabularyIsDropped()
    {
        var vocab = Vocabulary.FromGguf(new MetadataBuilder()
            .Set("tokenizer.ggml.model", "llama")
            .Set("tokenizer.ggml.tokens", new[] { "<unk>", "<s>" })
            .Build());
        Assert.Null(vocab.Eos);
        Assert.Equal([1], new Tokenizer(vocab).Encode("", addSpecial: true, parseSpecial: false));
    }

    [Theory]
    [InlineData("gpt2", "mystery-pre", "pre-tokenizer 'mystery-pre' (tokenizer.ggml.pre) is not supported")]
    [InlineData("gpt2", "chatglm-bpe", "pre-tokenizer 'chatglm-bpe'")]
    public void UnknownPreTokenizerIsRefusedByName(string model, string pre, string expected)
    {
        var metadata = MetadataBuilder.Spm("a").Set("tokenizer.ggml.model", model).Set("tokenizer.ggml.pre", pre)
            .Set("tokenizer.ggml.merges", new[] { "a a" }).Build();
        var e = Assert.Throws<NotSupportedException>(() => Vocabulary.FromGguf(metadata));
        Assert.Contains(expected, e.Message);
    }

    /// <summary>llama.cpp reads an absent key as the empty string and takes "default" for it (with a warning).</summary>
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void AbsentOrEmptyPreTokenizerIsTheDefault(string? pre)
    {
        var builder = MetadataBuilder.Spm("a").Set("tokenizer.ggml.model", "gpt2").Set("tokenizer.ggml.merges", new[] { "a a" });
        if (pre is not null)
            builder.Set("tokenizer.ggml.pre", pre);
        Assert.Equal("default", Vocabulary.FromGguf(builder.Build()).PreTokenizerName);
    }

    [Fact]
    public void ReferenceVocabulariesHaveLlamaCppsTypesAndFlags()
    {
        var llama3 = TestVocabularies.Reference("llama-bpe").Vocabulary;
        Assert.Equal((VocabularyType.Bpe, "llama-bpe"), (llama3.Type, llama3.PreTokenizerName));
        Assert.True(llama3.AddBos && llama3.CleanSpaces && !llama3.AddSpacePrefix);
        var qwen2 = TestVocabularies.Reference("qwen2").Vocabulary;
        Assert.False(qwen2.AddBos || qwen2.CleanSpaces);
        var gemma4 = TestVocabularies.Reference("gemma-4").Vocabulary;
        Assert.Equal((VocabularyType.Bpe, "gemma4", true), (gemma4.Type, gemma4.PreTokenizerName, gemma4.AddBos));
        var bert = TestVocabularies.Reference("bert-bge").Vocabulary;
        Assert.Equal((VocabularyType.Wpm, 101, 102, (int?)null), (bert.Type, bert.Bos, bert.Sep, bert.Eos));
    }

    /// <summary>The names an error offers are those the reference vectors test.</summary>
    [Fact]
    public void PreTokenizersNamedInErrorsAreTheTestedOnes()
    {
        var tested = TestVocabularies.ReferenceNames
            .Select(name => TestVocabularies.Reference(name).Vocabulary)
            .Where(v => v.Type == VocabularyType.Bpe)
            .Select(v => v.PreTokenizerName!)
            .Order(StringComparer.Ordinal);
        Assert.Equal(tested, PreTokenizerRules.Tested.Where(n => n != "default").Order(StringComparer.Ordinal));
    }
}
