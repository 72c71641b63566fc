namespace LlamaAot.Tests.Threading;

/// <summary>Alone: it counts the process's worker threads, which other tests' contexts would change.</summary>
[CollectionDefinition(nameof(SharedPoolTests), DisableParallelization = true)]
public sealed class SharedPoolCollection;

/// <summary>N sessions on one context use its one worker pool (issue 13): no threads per conversation.</summary>
[Collection(nameof(SharedPoolTests))]
public sealed class SharedPoolTests
{
    // The OS name of a pool's worker threads (Linux keeps 15 bytes of "llama-aot worker N").
    private static int WorkerThreads() =>
        Directory.GetDirectories("/proc/self/task").Count(t => File.ReadAllText(Path.Combine(t, "comm")).StartsWith("llama-aot worke", StringComparison.Ordinal));

    [Fact]
    public void SessionsShareTheContextsThreadsAndASecondContextHasItsOwn()
    {
        using var model = LlamaModel.Load(Shared.Stories260K("Q8_0"));
        int before = WorkerThreads();
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 3, Sequences = 4 });
        int withContext = WorkerThreads();
        Assert.Equal(before + 2, withContext); // the caller is the pool's third thread

        var sessions = Enumerable.Range(0, 4).Select(_ => context.CreateSession()).ToList();
        foreach (var s in sessions)
            _ = s.Generate("Once upon a time", new GenerationOptions { MaxTokens = 8 }).ToList();
        Assert.Equal(withContext, WorkerThreads());
        sessions.ForEach(s => s.Dispose());

        using var second = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 3 });
        Assert.Equal(withContext + 2, WorkerThreads());
    }
}
