using System.CommandLine;
using LlamaAot.Model;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// The flags that size and run the engine, shared by the commands that generate (run, serve): threads, batch sizes,
/// KV cache types and flash attention, read into a <see cref="ContextOptions"/>. Each command lists the options where
/// its help puts them.
/// </summary>
internal sealed class EngineFlags
{
    public Option<int> Threads { get; } = CommonOptions.Threads();
    public Option<int> ThreadsBatch { get; } = CommonOptions.ThreadsBatch();
    public BatchFlags Batch { get; } = new();
    public Option<string> KeyCacheType { get; } = CommonOptions.CacheType("--cache-type-k", "-ctk", "key");
    public Option<string> ValueCacheType { get; } = CommonOptions.CacheType("--cache-type-v", "-ctv", "value");
    public Option<OnOff> FlashAttention { get; } = CommonOptions.FlashAttention();

    /// <summary>The context the flags ask for, of <paramref name="contextSize"/> positions in all, shared by <paramref name="sequences"/>.</summary>
    public ContextOptions Read(ParseResult p, int contextSize, int sequences = 1) => new()
    {
        ContextSize = contextSize,
        Sequences = sequences,
        Threads = p.GetValue(Threads),
        BatchThreads = p.GetValue(ThreadsBatch),
        BatchSize = Batch.Read(p),
        KeyCacheType = CommonOptions.ParseCacheType(p.GetValue(KeyCacheType)!),
        ValueCacheType = CommonOptions.ParseCacheType(p.GetValue(ValueCacheType)!),
        FlashAttention = p.GetValue(FlashAttention) == OnOff.On,
    };
}
