using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaAot.Tests.Model;

/// <summary>
/// Sessions on one context (issue 13): a session continues from what its cache holds, reuses the prefix a new prompt
/// shares with it, goes back by truncation, and gives the same tokens and logits as a fresh context on the same
/// tokens. Q8_0 weights: their products do not depend on where a token falls in its batch, so reused and fresh runs
/// agree bit for bit (Q4_K's would not: llama.cpp's order for the first n - n % 4 tokens of a batch differs).
/// </summary>
public sealed class SessionTests
{
    private static readonly string Model = Shared.Stories260K("Q8_0");
    private static readonly GenerationOptions Greedy = new() { MaxTokens = 24, IgnoreEos = true, Sampling = new() { Temperature = 0 } };

    private static int[] Ids(IEnumerable<GeneratedToken> tokens) => tokens.Where(t => t.Id >= 0).Select(t => t.Id).ToArray();

    /// <summary>What a session of a new context generates for <paramref name="prompt"/>.</summary>
    private static int[] FreshIds(LlamaModel model, int[] prompt, GenerationOptions options)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        return Ids(session.GenerateTokens(prompt, options));
    }

    private static float[] FreshLogits(LlamaModel model, int[] tokens)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        return context.Evaluate(tokens).ToArray();
    }

    [Fact]
    public void APromptThatContinuesTheCacheEvaluatesOnlyItsNewTokensAndMatchesAFreshRun()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        int[] first = model.Tokenize("Once upon a time");
        int[] answer = Ids(session.GenerateTokens(first, Greedy));
        Assert.Equal(first.Length, session.LastStats!.PromptTokens);
        Assert.Equal(0, session.LastStats.ReusedTokens);

        // The next turn: everything so far (the last answer token was sampled, never evaluated) and more.
        int[] more = model.Tokenize(" The cat said hello.", addSpecial: false);
        int[] second = [.. first, .. answer, .. more];
        int[] continued = Ids(session.GenerateTokens(second, Greedy));
        Assert.Equal(first.Length + answer.Length - 1, session.LastStats!.ReusedTokens);
        Assert.Equal(1 + more.Length, session.LastStats.PromptTokens);

        Assert.Equal(FreshIds(model, second, Greedy), continued);
    }

    [Fact]
    public void AppendingContinuesAndTruncatingGoesBackBitForBit()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        int[] a = model.Tokenize("Once upon a time there was a dog"), b = model.Tokenize(" who liked to run", addSpecial: false);
        session.Append(a);
        float[] appended = session.Append(b).ToArray();
        Assert.Equal(FreshLogits(model, [.. a, .. b]), appended);
        Assert.Equal([.. a, .. b], session.Tokens.ToArray());

        // A conversation that departs at token 5: cut back there and go on from it.
        Assert.Equal(5, session.Truncate(5));
        int[] other = model.Tokenize(" in the park", addSpecial: false);
        Assert.Equal(FreshLogits(model, [.. a[..5], .. other]), session.Append(other).ToArray());

        // A prompt that departs from the cache cuts it back by itself.
        int[] departing = [.. a[..3], .. other];
        var ids = Ids(session.GenerateTokens(departing, Greedy));
        Assert.Equal(3, session.LastStats!.ReusedTokens);
        Assert.Equal(FreshIds(model, departing, Greedy), ids);
    }

    [Fact]
    public void GeneratingAfterAppendReusesTheLogitsTheAppendLeft()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        int[] prompt = model.Tokenize("Once upon a time");
        session.Append(prompt);
        var ids = Ids(session.GenerateTokens(prompt, Greedy));
        Assert.Equal(0, session.LastStats!.PromptTokens);
        Assert.Equal(prompt.Length, session.LastStats.ReusedTokens);
        Assert.Equal(FreshIds(model, prompt, Greedy), ids);
    }

    /// <summary>
    /// --ignore-eos writes -inf over the end-of-generation logits in the context's buffer: a later prompt must not
    /// reuse those logits as the cache's (before the fix it did: 0 tokens evaluated, end of sequence unreachable).
    /// </summary>
    [Fact]
    public void LogitsChangedByIgnoreEosAreNotReused()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        int[] prompt = model.Tokenize("Once upon a time");
        _ = session.GenerateTokens(prompt, Greedy with { MaxTokens = 1 }).ToList(); // sampled, not evaluated
        _ = session.GenerateTokens(prompt, Greedy with { MaxTokens = 1 }).ToList();
        Assert.Equal(1, session.LastStats!.PromptTokens);
        var plain = Greedy with { MaxTokens = 1, IgnoreEos = false };
        _ = session.GenerateTokens(prompt, plain).ToList();
        Assert.Equal(1, session.LastStats!.PromptTokens);
        _ = session.GenerateTokens(prompt, plain).ToList();
        Assert.Equal(0, session.LastStats!.PromptTokens); // untouched logits are reused
    }

    [Fact]
    public void LogitsAreHandedOutOverTheContextsBufferNotCopiedPerToken()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 1 });
        var first = context.Evaluate([1, 403]);
        ref readonly float where = ref MemoryMarshal.GetReference(first);
        var second = context.Evaluate([261]);
        Assert.Equal(model.Config.NVocab, second.Length);
        Assert.True(Unsafe.AreSame(in where, in MemoryMarshal.GetReference(second)), "the second decode's logits are in another place");
    }

    [Fact]
    public void PromptProcessingIsCancelledBetweenPassesAndKeepsThePassesDone()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, BatchSize = 8, Threads = 1 });
        using var session = context.CreateSession();
        int[] prompt = model.Tokenize("Once upon a time there was a little girl named Lily. She loved to play outside in the sun.");
        Assert.True(prompt.Length > 16);
        using var cancel = new CancellationTokenSource();
        int passes = 0;
        context.PassDone = _ => { if (++passes == 2) cancel.Cancel(); };
        Assert.Throws<OperationCanceledException>(() => session.Append(prompt, cancel.Token));
        context.PassDone = null;
        Assert.Equal(2, passes);
        Assert.Equal(16, session.Position);

        // Generation reports the cancellation as its stop reason; what was evaluated stays and is reused.
        var cancelledGeneration = session.GenerateTokens(prompt, Greedy, cancel.Token).ToList();
        Assert.Empty(cancelledGeneration);
        Assert.Equal(StopReason.Cancelled, session.LastStats!.StopReason);
        float[] rest = session.Append(prompt.AsSpan(16)).ToArray();
        Assert.Equal(FreshLogits(model, prompt), rest);
    }

    [Fact]
    public async Task TheStreamingFormGivesTheSameTokensAsTheSynchronousOne()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1, Sequences = 2 });
        using var one = context.CreateSession();
        using var two = context.CreateSession();
        int[] prompt = model.Tokenize("Once upon a time");
        var options = Greedy with { Sampling = new() { Seed = 42 } };
        var expected = one.GenerateTokens(prompt, options).ToList();
        var streamed = new List<GeneratedToken>();
        await foreach (var token in two.GenerateTokensAsync(prompt, options))
            streamed.Add(token);
        Assert.Equal(expected, streamed);
        Assert.Equal(options.MaxTokens, two.LastStats!.GeneratedTokens);
    }

    [Fact]
    public void SessionsOnSeveralThreadsWaitForEachOtherAndGetWhatTheyWouldAlone()
    {
        using var model = LlamaModel.Load(Model);
        string[] prompts = ["Once upon a time", "The cat sat", "Lily had a ball"];
        var alone = prompts.Select(p =>
        {
            using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 2 });
            using var session = context.CreateSession();
            return Ids(session.GenerateTokens(p, Greedy with { MaxTokens = 40 }));
        }).ToArray();

        using var shared = model.CreateContext(new ContextOptions { ContextSize = 384, Threads = 2, Sequences = 3 });
        var sessions = prompts.Select(_ => shared.CreateSession()).ToArray();
        var together = new int[prompts.Length][];
        Parallel.For(0, prompts.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, i =>
        {
            for (int round = 0; round < 3; round++)
                together[i] = Ids(sessions[i].GenerateTokens(prompts[i], Greedy with { MaxTokens = 40 }));
        });
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(alone[i], together[i]);
        foreach (var s in sessions)
            s.Dispose();
    }

    [Fact]
    public void ACallWaitsWhileAnotherHoldsTheContext()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1, Sequences = 2 });
        using var a = context.CreateSession();
        using var b = context.CreateSession();
        int[] prompt = model.Tokenize("Once upon a time");
        float[]? logits = null;
        var waiting = new Thread(() => logits = b.Append(prompt).ToArray());
        lock (context.DecodeLock)
        {
            waiting.Start();
            Assert.False(waiting.Join(300), "a decode ran while another thread held the context");
            Assert.Equal(0, b.Position);
        }
        waiting.Join();
        Assert.Equal(FreshLogits(model, prompt), logits);
    }

    [Fact]
    public void SessionsTakeTheContextsSequencesAndGiveThemBack()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1, Sequences = 2 });
        var a = context.CreateSession();
        using var b = context.CreateSession();
        Assert.NotEqual(a.Sequence, b.Sequence);
        var e = Assert.Throws<InvalidOperationException>(() => context.CreateSession());
        Assert.Contains("all 2 sequences of this context have a session", e.Message);
        a.Append(model.Tokenize("Once upon a time"));
        a.Dispose();
        using var c = context.CreateSession();
        Assert.Equal(0, c.Position); // a new session starts empty
        Assert.Throws<ObjectDisposedException>(() => a.Append([1]));
    }

    [Fact]
    public void StopStringsEndTheTextBeforeThemAndHoldBackWhatMayStartOne()
    {
        var stops = new StopStrings(["</answer>", "\n\n"]);
        Assert.Equal("Hello", stops.Push("Hello", out bool hit));
        Assert.False(hit);
        Assert.Equal(" wor", stops.Push(" wor</an", out hit)); // "</an" may start "</answer>"
        Assert.Equal("</an", stops.Push("", out _) + stops.Flush("")); // nothing else came: released at the end
        Assert.Equal("ld", stops.Push("ld\n", out hit));
        Assert.False(hit);
        Assert.Equal("", stops.Push("\nmore", out hit));
        Assert.True(hit);
    }

    [Fact]
    public void GenerationStopsAtAStopStringWithTheTextBeforeIt()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        string free = string.Concat(session.Generate("Once upon a time", Greedy with { MaxTokens = 40 }));
        // A stop string from the middle of the free text: the stopped text is what came before it.
        string stop = free.Substring(free.Length / 2, 4);
        string stopped = string.Concat(session.Generate("Once upon a time", Greedy with { MaxTokens = 40, Stop = [stop] }));
        Assert.Equal(StopReason.StopString, session.LastStats!.StopReason);
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped);
    }

    [Fact]
    public void AContextShiftKeepsTheFirstTokensDropsHalfTheRestAndGoesOnAsAFreshRunWould()
    {
        using var model = LlamaModel.Load(Model);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64, Sequences = 2, Threads = 1 });
        using var session = context.CreateSession();
        int[] prompt = model.Tokenize("Once upon a time there was");
        var options = Greedy with { MaxTokens = 60, ContextShift = true, Keep = 3 };
        int[] ids = Ids(session.GenerateTokens(prompt, options));
        Assert.Equal(60, ids.Length);
        Assert.Equal(StopReason.MaxTokens, session.LastStats!.StopReason);
        Assert.True(session.LastStats.ContextShifts >= 2, $"{session.LastStats.ContextShifts} shifts");
        int[] held = session.Tokens.ToArray();
        Assert.Equal(prompt[..4], held[..4]); // BOS and the 3 kept tokens
        Assert.Equal(ids[^(held.Length - 4 + 1)..^1], held[4..]); // then the latest tokens (the last one not yet evaluated)

        // The shifted cache is the cache of its tokens at their new positions.
        Assert.Equal(FreshLogits(model, [.. held, ids[^1]]), session.Append([ids[^1]]).ToArray());

        // Without the shift, generation stops at the full context with "length".
        using var plain = context.CreateSession();
        Assert.Throws<InvalidOperationException>(() => context.CreateSession());
        int[] stopped = Ids(plain.GenerateTokens(prompt, options with { ContextShift = false }));
        Assert.Equal(StopReason.ContextFull, plain.LastStats!.StopReason);
        Assert.Equal(32 - prompt.Length + 1, stopped.Length);
    }
}
