using System.Diagnostics;
using LlamaAot.Diagnostics;
using LlamaAot.Model;
using LlamaAot.Sampling;
using LlamaAot.Threading;
using LlamaAot.Tokenizers;

namespace LlamaAot;

/// <summary>
/// An inference session on a model: the KV cache, scratch buffers and worker threads. Not thread-safe; use one
/// context per concurrent conversation.
/// </summary>
public sealed class LlamaContext : IDisposable
{
    private readonly LlamaModel _model;
    private readonly WorkerPool _pool;
    private readonly KvCache _cache;
    private readonly ForwardState _state;
    private readonly bool _adaptive, _adaptiveBatch; // the thread counts are the engine's choice: see WorkerPool.Adaptive

    internal LlamaContext(LlamaModel model, ContextOptions options)
    {
        _model = model;
        var c = model.Config;
        int nCtx = options.ContextSize > 0 ? options.ContextSize : FitTrainingContext(c, options, SystemMemory.Available);
        if (options.ContextSize < 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"context size {options.ContextSize} must be positive");
        if (options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"batch size {options.BatchSize} must be positive");
        ContextSize = nCtx;
        Threads = options.ResolveThreads();
        BatchThreads = options.ResolveBatchThreads();
        _adaptive = options.Threads == 0;
        _adaptiveBatch = options.BatchThreads == 0 && options.Threads == 0;
        _pool = new WorkerPool(Math.Max(Threads, BatchThreads));
        try
        {
            _cache = new KvCache(c.NLayer, nCtx, c.NHeadKv, c.HeadDim, options.KeyCacheType, options.ValueCacheType);
            _state = new ForwardState(c, _cache, _pool, Math.Min(options.BatchSize, nCtx), options.FlashAttention);
        }
        catch
        {
            _cache?.Dispose();
            _pool.Dispose();
            throw;
        }
    }

    public LlamaModel Model => _model;

    /// <summary>
    /// The default context: the model's training context (llama.cpp's -c 0), or, when its KV cache would take more
    /// than half of <paramref name="available"/> bytes, the most whole multiples of 256 positions that fit there (at
    /// least 256).
    /// </summary>
    internal static int FitTrainingContext(ModelConfig c, ContextOptions options, long available)
    {
        long perPosition = KvCache.BytesPerPosition(c.NLayer, c.NHeadKv, c.HeadDim, options.KeyCacheType, options.ValueCacheType);
        long fits = available / 2 / perPosition;
        return fits >= c.NCtxTrain ? c.NCtxTrain : (int)Math.Max(256, fits / 256 * 256);
    }

    /// <summary>Positions the KV cache holds.</summary>
    public int ContextSize { get; }

    /// <summary>Threads for token generation.</summary>
    public int Threads { get; }

    /// <summary>Threads for prompt processing.</summary>
    public int BatchThreads { get; }

    /// <summary>Bytes of the KV cache.</summary>
    public long KvCacheBytes => _cache.Bytes;

    /// <summary>Tokens already in the KV cache: the next token goes at this position.</summary>
    public int Position { get; private set; }

    /// <summary>Counts and times of the last <see cref="Generate"/> or <see cref="GenerateTokens"/>.</summary>
    public GenerationStats? LastStats { get; private set; }

    /// <summary>Forgets every token: the next evaluation starts at position 0.</summary>
    public void Reset() => Position = 0;

    /// <summary>Evaluates tokens after those already in the cache; returns the last token's logits [nVocab].</summary>
    public float[] Evaluate(ReadOnlySpan<int> tokens) => Run(tokens, allLogits: false);

    /// <summary>Evaluates tokens after those in the cache; returns the logits of every one, [tokens.Length * nVocab].</summary>
    public float[] EvaluateAll(ReadOnlySpan<int> tokens) => Run(tokens, allLogits: true);

    private float[] Run(ReadOnlySpan<int> tokens, bool allLogits)
    {
        if (tokens.IsEmpty)
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        if (Position + tokens.Length > ContextSize)
            throw new ContextFullException(Position, tokens.Length, ContextSize);
        int nVocab = _model.Config.NVocab;
        var result = new float[(allLogits ? tokens.Length : 1) * nVocab];
        for (int start = 0; start < tokens.Length; start += _state.MaxBatch)
        {
            var batch = tokens.Slice(start, Math.Min(_state.MaxBatch, tokens.Length - start));
            _pool.Active = batch.Length > 1 ? BatchThreads : Threads;
            _pool.Adaptive = batch.Length > 1 ? _adaptiveBatch : _adaptive;
            bool last = start + batch.Length == tokens.Length;
            if (!allLogits && !last)
            {
                _model.Architecture.Forward(_state, batch, Position, allLogits: false);
            }
            else
            {
                var logits = _model.Architecture.Forward(_state, batch, Position, allLogits);
                logits.CopyTo(result.AsSpan(allLogits ? start * nVocab : 0));
            }
            Position += batch.Length;
        }
        return result;
    }

    /// <summary>Generates text after <paramref name="prompt"/>, streamed as pieces of text.</summary>
    public IEnumerable<string> Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        foreach (var token in GenerateTokens(prompt, options, cancellationToken))
        {
            if (token.Text.Length > 0)
                yield return token.Text;
        }
    }

    /// <summary>
    /// Generates tokens after <paramref name="prompt"/> (tokenized with BOS, special tokens parsed, as llama-cli
    /// does), starting from an empty cache. Each token comes with the text it completes.
    /// </summary>
    /// <exception cref="PromptTooLongException">The prompt does not fit in the context.</exception>
    public IEnumerable<GeneratedToken> GenerateTokens(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var promptTokens = _model.Tokenize(prompt, addSpecial: true, parseSpecial: true);
        if (promptTokens.Length >= ContextSize)
            throw new PromptTooLongException(promptTokens.Length, ContextSize);
        return GenerateTokens(promptTokens, options ?? new GenerationOptions(), cancellationToken);
    }

    private IEnumerable<GeneratedToken> GenerateTokens(int[] promptTokens, GenerationOptions options, CancellationToken cancellationToken)
    {
        var vocab = _model.Vocabulary;
        var sampler = new Sampler(options.Sampling, vocab.Count, ContextSize);
        var decoder = new StreamingDecoder(_model.Tokenizer);
        var stop = StopReason.None;
        int generated = 0, evaluations = 0;
        var promptClock = Stopwatch.StartNew();
        Reset();
        float[] logits = Evaluate(promptTokens);
        var promptTime = promptClock.Elapsed;
        foreach (int t in promptTokens)
            sampler.Accept(t);
        var evalTime = TimeSpan.Zero;
        var sampleClock = new Stopwatch();
        try
        {
            while (true)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    stop = StopReason.Cancelled;
                    break;
                }
                if (options.MaxTokens >= 0 && generated >= options.MaxTokens)
                {
                    stop = StopReason.MaxTokens;
                    break;
                }
                sampleClock.Start();
                if (options.IgnoreEos)
                    SuppressEndOfGeneration(logits, vocab);
                int id = sampler.Sample(logits);
                sampler.Accept(id);
                sampleClock.Stop();
                if (vocab.IsEndOfGeneration(id))
                {
                    stop = StopReason.EndOfSequence;
                    break;
                }
                generated++;
                yield return new GeneratedToken(id, decoder.Push(id));
                if (options.MaxTokens >= 0 && generated >= options.MaxTokens)
                {
                    stop = StopReason.MaxTokens;
                    break;
                }
                if (Position >= ContextSize)
                {
                    stop = StopReason.ContextFull;
                    break;
                }
                var clock = Stopwatch.StartNew();
                logits = Evaluate([id]);
                evalTime += clock.Elapsed;
                evaluations++;
            }
            string rest = decoder.Flush();
            if (rest.Length > 0)
                yield return new GeneratedToken(-1, rest);
        }
        finally
        {
            LastStats = new GenerationStats(promptTokens.Length, promptTime, generated, evaluations, evalTime, sampleClock.Elapsed, stop == StopReason.None ? StopReason.Cancelled : stop);
        }
    }

    private static void SuppressEndOfGeneration(float[] logits, Vocabulary vocab)
    {
        for (int id = 0; id < vocab.Count; id++)
        {
            if (vocab.IsEndOfGeneration(id))
                logits[id] = float.NegativeInfinity;
        }
    }

    public void Dispose()
    {
        _state.Dispose();
        _cache.Dispose();
        _pool.Dispose();
    }
}

/// <summary>The prompt has more tokens than the context holds.</summary>
public sealed class PromptTooLongException(int promptTokens, int contextSize)
    : Exception($"the prompt has {promptTokens} tokens but the context holds {contextSize}: use a shorter prompt or a larger context (-c)")
{
    public int PromptTokens { get; } = promptTokens;
    public int ContextSize { get; } = contextSize;
}

/// <summary>An evaluation would go past the end of the KV cache.</summary>
public sealed class ContextFullException(int position, int tokens, int contextSize)
    : Exception($"the context is full: {tokens} more tokens at position {position} exceed its {contextSize} positions (-c)");
