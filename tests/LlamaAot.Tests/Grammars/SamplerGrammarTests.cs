using LlamaAot.Sampling;

namespace LlamaAot.Tests.Grammars;

/// <summary>The grammar in the sampler: llama.cpp's check of the chosen token first, prompt tokens kept out of it.</summary>
public sealed class SamplerGrammarTests(GrammarGenerationTests.Stories stories) : IClassFixture<GrammarGenerationTests.Stories>
{
    private LlamaAot.Tokenizers.Tokenizer Tokenizer => stories.Model.Tokenizer;

    /// <summary>The token whose piece is exactly <paramref name="piece"/>.</summary>
    private int Id(string piece) => Enumerable.Range(0, Tokenizer.Vocabulary.Count)
        .First(id => Tokenizer.TokenToPiece(id, special: false).AsSpan().SequenceEqual(System.Text.Encoding.UTF8.GetBytes(piece)));

    private string Piece(int id) => System.Text.Encoding.UTF8.GetString(Tokenizer.TokenToPiece(id, special: false));

    private float[] LogitsFavouring(string piece)
    {
        var logits = new float[Tokenizer.Vocabulary.Count];
        logits[Id(piece)] = 10f;
        return logits;
    }

    [Fact]
    public void AllowedFirstChoiceNeedsNoFullPass()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, Grammar = Grammar.Parse("root ::= \" the\" [a-z ]*") }, Tokenizer);
        int id = sampler.Sample(LogitsFavouring(" the"));
        Assert.Equal(" the", Piece(id));
        Assert.Equal((1, 0), (sampler.GrammarSamples, sampler.GrammarFullPasses));
    }

    [Fact]
    public void RejectedFirstChoiceIsReplacedByTheBestAllowedToken()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, Grammar = Grammar.Parse("root ::= [0-9]+") }, Tokenizer);
        float[] logits = LogitsFavouring(" the");
        int digit = Id("7");
        logits[digit] = 1f;
        Assert.Equal(digit, sampler.Sample(logits));
        Assert.Equal((1, 1), (sampler.GrammarSamples, sampler.GrammarFullPasses));
        sampler.Accept(digit);
        Assert.True(sampler.GrammarComplete);
    }

    /// <summary>
    /// The full pass applies the penalties to the tokens they name: they used to run after the grammar had dropped
    /// tokens, finding a token at its id in what was left (an IndexOutOfRangeException, or another token penalized;
    /// the server's fuzz test found it with <c>"grammar"</c> and <c>"repeat_penalty"</c>).
    /// </summary>
    [Fact]
    public void RejectedFirstChoiceIsReplacedAfterThePenalties()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, RepeatPenalty = 2f, Grammar = Grammar.Parse("root ::= [0-9]+") }, Tokenizer);
        float[] logits = LogitsFavouring(" the");
        int seven = Id("7"), eight = Id("8");
        logits[seven] = 2f;
        logits[eight] = 1.5f;
        sampler.AcceptPrompt([seven]); // 7's logit is halved to 1, below 8's 1.5
        Assert.Equal(eight, sampler.Sample(logits));
        Assert.Equal((1, 1), (sampler.GrammarSamples, sampler.GrammarFullPasses));
    }

    [Fact]
    public void EndOfGenerationOnlyWhereTheSentenceIsComplete()
    {
        int eos = Tokenizer.Vocabulary.Eos!.Value;
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, Grammar = Grammar.Parse("root ::= \"ab\"") }, Tokenizer);
        var logits = new float[Tokenizer.Vocabulary.Count];
        logits[eos] = 100f;
        Assert.NotEqual(eos, sampler.Sample(logits));
        Assert.Throws<GrammarException>(() => sampler.Accept(eos));
        sampler.Accept(Id("a"));
        sampler.Accept(Id("b"));
        Assert.Equal(eos, sampler.Sample(logits));
    }

    [Fact]
    public void PromptTokensDoNotAdvanceTheGrammar()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, Grammar = Grammar.Parse("root ::= \"x\"") }, Tokenizer);
        sampler.AcceptPrompt(Tokenizer.Encode("Once upon a time", addSpecial: true, parseSpecial: false));
        Assert.False(sampler.GrammarComplete);
        Assert.Equal("x", Piece(sampler.Sample(LogitsFavouring(" the"))));
    }

    [Fact]
    public void AGrammarNeedsTheVocabulary()
    {
        var e = Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { Grammar = Grammar.Parse("root ::= \"x\"") }, 512));
        Assert.Contains("needs the vocabulary", e.Message);
    }

    [Fact]
    public void NoTokenCanContinueIsAClearError()
    {
        // An empty grammar allows only end of generation, which these logits forbid (as --ignore-eos does).
        var sampler = new Sampler(new SamplingOptions { Grammar = Grammar.Parse("root ::= ") }, Tokenizer);
        var logits = new float[Tokenizer.Vocabulary.Count];
        logits[Tokenizer.Vocabulary.Eos!.Value] = float.NegativeInfinity;
        var e = Assert.Throws<GrammarException>(() => sampler.Sample(logits));
        Assert.Contains("no token of the vocabulary can continue the grammar", e.Message);
    }

    [Fact]
    public void ResetGoesBackToTheGrammarsStart()
    {
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, Grammar = Grammar.Parse("root ::= [0-9]") }, Tokenizer);
        sampler.Accept(Id("7"));
        Assert.True(sampler.GrammarComplete);
        Assert.True(sampler.GrammarTime > TimeSpan.Zero);
        sampler.Reset();
        Assert.False(sampler.GrammarComplete);
        Assert.Equal(TimeSpan.Zero, sampler.GrammarTime);
    }

    /// <summary>A generation's stats carry the grammar's counts and time (what run prints), and none without a grammar.</summary>
    [Fact]
    public void GenerationStatsCarryTheGrammarsCounts()
    {
        using var context = stories.Model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        var grammar = Grammar.Parse("root ::= [0-9]+ \".\"");
        _ = string.Concat(session.Generate("", new GenerationOptions { MaxTokens = 16, Sampling = new() { Seed = 1, Grammar = grammar } }));
        var s = session.LastStats!;
        Assert.NotNull(s.Grammar);
        Assert.Equal(s.GeneratedTokens + (s.StopReason == StopReason.EndOfSequence ? 1 : 0), s.Grammar.Tokens);
        Assert.InRange(s.Grammar.FullPasses, 1, s.Grammar.Tokens); // a story model's first choice is no digit
        Assert.Equal((double)s.Grammar.FullPasses / s.Grammar.Tokens, s.Grammar.FullPassShare);
        Assert.True(s.Grammar.Time > TimeSpan.Zero);

        _ = string.Concat(session.Generate("", new GenerationOptions { MaxTokens = 4, Sampling = new() { Seed = 1 } }));
        Assert.Null(session.LastStats!.Grammar);
    }
}
