using LlamaAot.Kernels;
using LlamaAot.Model;
using LlamaAot.Sampling;
using LlamaAot.Threading;

namespace LlamaAot;

/// <summary>How a model is loaded.</summary>
public sealed record ModelOptions
{
    /// <summary>The kernel path to use; null picks the best this CPU supports (or what LLAMA_AOT_ISA forces).</summary>
    public KernelIsa? Isa { get; init; }
}

/// <summary>How an inference context is set up (llama.cpp's -c, -t, -tb, -b, -ctk, -ctv).</summary>
public sealed record ContextOptions
{
    /// <summary>
    /// Positions in the KV cache; 0 means the model's training context (llama.cpp's default), cut to what half the
    /// available memory holds when its KV cache would not fit there.
    /// </summary>
    public int ContextSize { get; init; }

    /// <summary>
    /// Threads for token generation; 0 means the number of physical cores, fewer while other processes keep the
    /// workers from keeping up (an explicit count is used as it is).
    /// </summary>
    public int Threads { get; init; }

    /// <summary>Threads for prompt processing (batches of more than one token); 0 means the same as <see cref="Threads"/>.</summary>
    public int BatchThreads { get; init; }

    /// <summary>
    /// Sequences (conversations) held at once, each with <see cref="ContextSize"/> / Sequences positions (llama.cpp's
    /// n_seq_max, llama-server's -np); tokens of several sequences can share one <see cref="LlamaContext.Decode"/>.
    /// </summary>
    public int Sequences { get; init; } = 1;

    /// <summary>Most tokens evaluated in one forward pass (prompt processing); llama.cpp's -ub.</summary>
    public int BatchSize { get; init; } = 512;

    public KvCacheType KeyCacheType { get; init; } = KvCacheType.F16;

    public KvCacheType ValueCacheType { get; init; } = KvCacheType.F16;

    /// <summary>
    /// Take the attention softmax online in one pass over the cache (flash attention, llama.cpp's -fa). Off by
    /// default, as in the llama.cpp the references come from: then the softmax is rounded exactly as llama.cpp rounds
    /// it without flash attention.
    /// </summary>
    public bool FlashAttention { get; init; }

    internal int ResolveThreads() => Threads > 0 ? Threads : CpuInfo.PhysicalCores;

    internal int ResolveBatchThreads() => BatchThreads > 0 ? BatchThreads : ResolveThreads();
}

/// <summary>What to generate (llama.cpp's -n, --ignore-eos and the sampling flags).</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate; -1 means until end of sequence or a full context.</summary>
    public int MaxTokens { get; init; } = -1;

    /// <summary>Keep going past end-of-sequence tokens (they are never sampled, as in llama.cpp).</summary>
    public bool IgnoreEos { get; init; }

    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>
    /// Stop strings (llama.cpp's reverse prompts, OpenAI's <c>stop</c>): generation ends where the text first contains
    /// one, and the text handed out ends before it (text that may begin one is held back until it cannot).
    /// </summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>
    /// When the sequence's context fills: keep its first <see cref="Keep"/> tokens, drop half of the rest and go on
    /// (llama.cpp's --context-shift; off by default, as in llama.cpp 0.5.0). Off, generation stops there with
    /// <see cref="StopReason.ContextFull"/>.
    /// </summary>
    public bool ContextShift { get; init; }

    /// <summary>
    /// Tokens kept at the start of the context by a shift, not counting the BOS token, which is always kept
    /// (llama.cpp's --keep); -1 keeps the whole prompt of the generation.
    /// </summary>
    public int Keep
    {
        get;
        init => field = value >= -1 ? value : throw new ArgumentOutOfRangeException(nameof(Keep), value, "Keep must be -1 (the whole prompt), 0 or more");
    }
}

/// <summary>Why generation stopped.</summary>
public enum StopReason
{
    /// <summary>Still running, or never started.</summary>
    None,

    /// <summary>MaxTokens were generated.</summary>
    MaxTokens,

    /// <summary>The model produced an end-of-sequence token.</summary>
    EndOfSequence,

    /// <summary>The KV cache is full.</summary>
    ContextFull,

    /// <summary>The caller cancelled.</summary>
    Cancelled,

    /// <summary>The text reached one of the stop strings (<see cref="GenerationOptions.Stop"/>).</summary>
    StopString,
}

/// <summary>
/// Counts and times of the last generation, in llama.cpp's spirit: prompt evaluation, and the evaluations of
/// generated tokens (each generated token but the last is fed back and evaluated; llama.cpp's "eval time").
/// </summary>
/// <param name="PromptTokens">Prompt tokens evaluated; those the cache already held are <paramref name="ReusedTokens"/>.</param>
/// <param name="ReusedTokens">Prompt tokens whose keys and values the cache already held (prefix reuse).</param>
/// <param name="ContextShifts">Times the context was shifted (<see cref="GenerationOptions.ContextShift"/>).</param>
public sealed record GenerationStats(
    int PromptTokens, int ReusedTokens, int ContextShifts, TimeSpan PromptTime, int GeneratedTokens, int Evaluations, TimeSpan EvaluationTime, TimeSpan SamplingTime, StopReason StopReason)
{
    public double PromptTokensPerSecond => PromptTime.TotalSeconds > 0 ? PromptTokens / PromptTime.TotalSeconds : 0;

    public double GenerationTokensPerSecond => EvaluationTime.TotalSeconds > 0 ? Evaluations / EvaluationTime.TotalSeconds : 0;

    /// <summary>How the grammar sampler fared, when the generation had a <see cref="SamplingOptions.Grammar"/>; else null.</summary>
    public GrammarStats? Grammar { get; init; }
}

/// <summary>
/// The grammar's share of one generation (<see cref="GenerationStats.Grammar"/>): the sampler checks its chain's
/// choice against the grammar first, and filters the whole vocabulary through the grammar only when that choice is
/// rejected.
/// </summary>
/// <param name="Tokens">Tokens sampled under the grammar (end of generation included).</param>
/// <param name="FullPasses">Of <paramref name="Tokens"/>, those that needed the whole-vocabulary pass.</param>
/// <param name="Time">Time spent in the grammar: checks, filtering, and steps over accepted tokens.</param>
public sealed record GrammarStats(int Tokens, int FullPasses, TimeSpan Time)
{
    /// <summary>The share of tokens that needed the whole-vocabulary pass, 0 to 1.</summary>
    public double FullPassShare => Tokens > 0 ? (double)FullPasses / Tokens : 0;

    public double MillisecondsPerToken => Tokens > 0 ? Time.TotalMilliseconds / Tokens : 0;
}

/// <summary>One generated token and the text it completes (empty while a multi-byte character is still partial).</summary>
public readonly record struct GeneratedToken(int Id, string Text);
