namespace LlamaAot.Tests.Model;

/// <summary>
/// Several sequences in one forward pass (issue 10): tokens attend only to their own sequence, so a batch holding
/// two conversations gives each one's logits bit for bit as evaluating it alone does; and the batch API's checks.
/// </summary>
public sealed class BatchTests
{
    private static readonly int[] PromptA = [1, 403, 261, 378, 300, 290, 260, 270, 451, 267, 260, 345, 269, 406, 272, 340, 278, 261, 353, 339];
    private static readonly int[] PromptB = [1, 500, 302, 260, 362, 267, 289, 466];

    /// <summary>
    /// The prompts interleaved in one batch against each alone, then greedy steps of one token per sequence in one
    /// batch against single-token steps alone: every matrix product gives a token what it gives it alone
    /// (BatchInvarianceTests), so they hold bit for bit at every step.
    /// </summary>
    [Theory]
    [Trait("Category", "Isa")]
    [InlineData("stories260K/stories260K-Q4_0.gguf", false)]
    [InlineData("stories260K/stories260K-Q8_0.gguf", true)]
    [InlineData("stories260K/stories260K-Q4_K_M.gguf", false)]
    [InlineData("stories260K/stories260K-Q6_K.gguf", false)]
    [InlineData("stories260K/stories260K-IQ4_XS.gguf", false)]
    [InlineData("stories260K/stories260K-F32.gguf", false)]
    [InlineData("stories260K/stories260K-F16.gguf", true)]
    [InlineData("arch/llama-Q4_K_M.gguf", false)]
    [InlineData("arch/qwen3-Q4_K_M.gguf", false)]
    [InlineData("arch/gemma3-Q4_K_M.gguf", false)]
    public void TwoSequencesInOneBatchMatchTwoSeparateRunsBitForBit(string file, bool flash)
    {
        using var model = LlamaModel.Load(Path.Combine(Shared.Models, file));
        var single = new ContextOptions { ContextSize = 64, Threads = 2, FlashAttention = flash };
        using var aloneA = model.CreateContext(single);
        using var aloneB = model.CreateContext(single);
        using var both = model.CreateContext(single with { ContextSize = 128, Sequences = 2 });
        int nVocab = model.Config.NVocab;

        // The prompts, interleaved in one batch with every logit wanted, against each prompt alone.
        float[] a = aloneA.EvaluateAll(PromptA).ToArray(), b = aloneB.EvaluateAll(PromptB).ToArray();
        var batch = new LlamaBatch();
        for (int i = 0; i < Math.Max(PromptA.Length, PromptB.Length); i++)
        {
            if (i < PromptB.Length)
                batch.Add(PromptB[i], i, sequence: 1, logits: true);
            if (i < PromptA.Length)
                batch.Add(PromptA[i], i, sequence: 0, logits: true);
        }
        float[] together = both.Decode(batch).ToArray();
        for (int i = 0; i < batch.Count; i++)
        {
            var t = batch[i];
            float[] alone = t.Sequence == 0 ? a : b;
            AssertBits(alone.AsSpan(t.Position * nVocab, nVocab), together.AsSpan(i * nVocab, nVocab), $"prompt token {t.Position} of sequence {t.Sequence}");
        }

        // Then greedy steps, one token of each sequence per batch.
        float[] lastA = a[^nVocab..], lastB = b[^nVocab..];
        for (int step = 0; step < 12; step++)
        {
            int nextA = ArchReferenceTests.ArgMax(lastA), nextB = ArchReferenceTests.ArgMax(lastB);
            batch.Clear();
            batch.Add(nextA, both.SequenceLength(0), sequence: 0, logits: true);
            batch.Add(nextB, both.SequenceLength(1), sequence: 1, logits: true);
            together = both.Decode(batch).ToArray();
            lastA = aloneA.Evaluate([nextA]).ToArray();
            lastB = aloneB.Evaluate([nextB]).ToArray();
            AssertBits(lastA, together.AsSpan(0, nVocab), $"step {step} of sequence 0");
            AssertBits(lastB, together.AsSpan(nVocab, nVocab), $"step {step} of sequence 1");
        }
        Assert.Equal(PromptA.Length + 12, both.SequenceLength(0));
        Assert.Equal(PromptB.Length + 12, both.SequenceLength(1));
    }

    [Fact]
    public void TruncatingASequenceLeavesTheOtherAndContinuesAsIfTheTokensHadNeverBeenSeen()
    {
        using var model = LlamaModel.Load(Path.Combine(Shared.Models, "stories260K/stories260K-Q8_0.gguf"));
        using var both = model.CreateContext(new ContextOptions { ContextSize = 128, Sequences = 2, Threads = 1 });
        using var alone = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 1 });
        var batch = new LlamaBatch();
        batch.AddSequence(PromptA, 0, sequence: 0);
        batch.AddSequence(PromptB, 0, sequence: 1);
        both.Decode(batch).ToArray();

        Assert.Equal(5, both.Truncate(0, 5));
        Assert.Equal(5, both.SequenceLength(0));
        Assert.Equal(PromptB.Length, both.SequenceLength(1));
        batch.Clear();
        batch.AddSequence(PromptB[1..], 5, sequence: 0);
        float[] continued = both.Decode(batch).ToArray();

        float[] expected = alone.Evaluate([.. PromptA[..5], .. PromptB[1..]]).ToArray();
        AssertBits(expected, continued, "sequence 0 cut to 5 tokens, then continued");
    }

    [Fact]
    public void ABatchThatDoesNotContinueItsSequenceIsRefusedBeforeAnythingRuns()
    {
        using var model = LlamaModel.Load(Path.Combine(Shared.Models, "stories260K/stories260K-Q8_0.gguf"));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64, Sequences = 2, Threads = 1 });
        var batch = new LlamaBatch();
        batch.Add(1, 0, sequence: 0);
        batch.Add(2, 2, sequence: 1);
        var e = Assert.Throws<ArgumentException>(() => context.Decode(batch).ToArray());
        Assert.StartsWith("sequence 1's next token goes at position 0, not 2", e.Message);
        Assert.Equal(0, context.SequenceLength(0));

        batch.Clear();
        batch.Add(1, 0, sequence: 2);
        Assert.Contains("sequence 2 is not one of this context's 0..1", Assert.Throws<ArgumentOutOfRangeException>(() => context.Decode(batch).ToArray()).Message);

        batch.Clear();
        batch.AddSequence(new int[33], 0, sequence: 1);
        Assert.IsType<ContextFullException>(Assert.ThrowsAny<Exception>(() => context.Decode(batch).ToArray()));
        Assert.Equal(0, context.SequenceLength(1));
    }

    private static void AssertBits(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: logit {i} is {actual[i]:R} in the batch, {expected[i]:R} alone");
        }
    }
}
