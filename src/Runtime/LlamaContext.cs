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
        if (options.Sequences < 1 || options.Sequences > nCtx)
            throw new ArgumentOutOfRangeException(nameof(options), $"{options.Sequences} sequences do not fit a context of {nCtx} positions: use 1 to {nCtx} sequences");
        ContextSize = nCtx;
        Sequences = options.Sequences;
        SequenceContextSize = nCtx / options.Sequences;
        Threads = options.ResolveThreads();
        BatchThreads = options.ResolveBatchThreads();
        _adaptive = options.Threads == 0;
        _adaptiveBatch = options.BatchThreads == 0 && options.Threads == 0;
        _pool = new WorkerPool(Math.Max(Threads, BatchThreads));
        try
        {
            int maxBatch = Math.Min(options.BatchSize, nCtx);
            _cache = new KvCache(KvCacheLayout.For(c, Sequences, SequenceContextSize, maxBatch, options.KeyCacheType, options.ValueCacheType));
            _state = new ForwardState(c, _cache, _pool, maxBatch, options.FlashAttention);
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
    /// least 256). The cache's size is its layout's, so sliding-window layers count only the ring they keep.
    /// </summary>
    internal static int FitTrainingContext(ModelConfig c, ContextOptions options, long available)
    {
        int sequences = Math.Max(1, options.Sequences);
        bool Fits(int nCtx) => nCtx < sequences || KvCacheLayout.For(c, sequences, nCtx / sequences, Math.Max(1, Math.Min(options.BatchSize, nCtx)),
            options.KeyCacheType, options.ValueCacheType).Bytes <= available / 2;
        if (Fits(c.NCtxTrain))
            return c.NCtxTrain;
        // The size grows with the context: the largest multiple of 256 below the training context that fits.
        int low = 0, high = (c.NCtxTrain - 1) / 256;
        while (low < high)
        {
            int mid = (low + high + 1) / 2;
            if (Fits(mid * 256))
                low = mid;
            else
                high = mid - 1;
        }
        return Math.Max(256, low * 256);
    }

    /// <summary>Positions the KV cache holds, over all sequences.</summary>
    public int ContextSize { get; }

    /// <summary>Sequences (conversations) the context holds at once; each has <see cref="SequenceContextSize"/> positions.</summary>
    public int Sequences { get; }

    /// <summary>Positions one sequence can hold: <see cref="ContextSize"/> / <see cref="Sequences"/>.</summary>
    public int SequenceContextSize { get; }

    /// <summary>Threads for token generation.</summary>
    public int Threads { get; }

    /// <summary>Threads for prompt processing.</summary>
    public int BatchThreads { get; }

    /// <summary>Bytes of the KV cache.</summary>
    public long KvCacheBytes => _cache.Bytes;

    /// <summary>Tokens of sequence 0 already in the KV cache: the next token goes at this position.</summary>
    public int Position => _cache.Length(0);

    /// <summary>Counts and times of the last <see cref="Generate"/> or <see cref="GenerateTokens"/>.</summary>
    public GenerationStats? LastStats { get; private set; }

    /// <summary>Forgets every token of every sequence: each next evaluation starts at position 0.</summary>
    public void Reset() => _cache.Clear();

    /// <summary>Tokens of <paramref name="sequence"/> in the KV cache: the position its next token goes at.</summary>
    public int SequenceLength(int sequence) => _cache.Length(CheckSequence(sequence));

    /// <summary>
    /// Forgets the tokens of <paramref name="sequence"/> from <paramref name="position"/> on (to change the end of a
    /// conversation) and returns the length kept, where its next token goes. That is <paramref name="position"/>,
    /// except on a model with sliding-window layers whose cache no longer holds the positions a token there would
    /// read: then the whole sequence is forgotten, 0 is returned, and it is evaluated again from its start.
    /// </summary>
    public int Truncate(int sequence, int position) => _cache.Truncate(CheckSequence(sequence), position);

    private int CheckSequence(int sequence) =>
        (uint)sequence < (uint)Sequences ? sequence : throw new ArgumentOutOfRangeException(nameof(sequence), $"sequence {sequence} is not one of this context's 0..{Sequences - 1}");

    /// <summary>Evaluates tokens after those already in the cache (sequence 0); returns the last token's logits [nVocab].</summary>
    public float[] Evaluate(ReadOnlySpan<int> tokens) => EvaluateSequence(tokens, allLogits: false);

    /// <summary>Evaluates tokens after those in the cache (sequence 0); returns the logits of every one, [tokens.Length * nVocab].</summary>
    public float[] EvaluateAll(ReadOnlySpan<int> tokens) => EvaluateSequence(tokens, allLogits: true);

    private float[] EvaluateSequence(ReadOnlySpan<int> tokens, bool allLogits)
    {
        if (tokens.IsEmpty)
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        var batch = new LlamaBatch();
        for (int i = 0; i < tokens.Length; i++)
            batch.Add(tokens[i], Position + i, 0, allLogits || i == tokens.Length - 1);
        return Decode(batch);
    }

    /// <summary>
    /// Evaluates the tokens of <paramref name="batch"/>, each after the tokens of its sequence already in the cache,
    /// and returns the logits of those marked for them: [rows * nVocab], rows in batch order. Several sequences in one
    /// batch give the same logits, bit for bit, as each alone. The batch is checked whole before anything runs.
    /// </summary>
    /// <exception cref="ContextFullException">A sequence would go past <see cref="SequenceContextSize"/>.</exception>
    public float[] Decode(LlamaBatch batch)
    {
        Check(batch);
        int nVocab = _model.Config.NVocab, row = 0;
        var result = new float[(long)batch.LogitRows * nVocab];
        var ubatch = _state.Batch;
        for (int start = 0; start < batch.Count; start += ubatch.Capacity)
        {
            ubatch.Fill(batch, start, Math.Min(ubatch.Capacity, batch.Count - start));
            _pool.Active = ubatch.Count > 1 ? BatchThreads : Threads;
            _pool.Adaptive = ubatch.Count > 1 ? _adaptiveBatch : _adaptive;
            var logits = _model.Architecture.Forward(_state, ubatch);
            logits.CopyTo(result.AsSpan(row * nVocab));
            row += ubatch.LogitRows;
            for (int t = 0; t < ubatch.Count; t++)
                _cache.Extend(ubatch.Sequences[t], ubatch.Positions[t] + 1);
        }
        return result;
    }

    /// <summary>Checks every token of a batch: its id, its sequence, and that it continues its sequence in the cache.</summary>
    private void Check(LlamaBatch batch)
    {
        if (batch.Count == 0)
            throw new ArgumentException("no tokens to evaluate", nameof(batch));
        int nVocab = _model.Config.NVocab;
        var next = new Dictionary<int, int>();
        foreach (var t in batch)
        {
            if ((uint)t.Token >= (uint)nVocab)
                throw new ArgumentOutOfRangeException(nameof(batch), $"token id {t.Token} is outside the vocabulary (0..{nVocab - 1})");
            CheckSequence(t.Sequence);
            if (!next.TryGetValue(t.Sequence, out int expected))
                expected = _cache.Length(t.Sequence);
            if (t.Position != expected)
                throw new ArgumentException($"sequence {t.Sequence}'s next token goes at position {expected}, not {t.Position}: a batch continues each sequence in order (Truncate to go back)", nameof(batch));
            if (t.Position >= SequenceContextSize)
            {
                int held = _cache.Length(t.Sequence);
                throw new ContextFullException(held, batch.Count(b => b.Sequence == t.Sequence), SequenceContextSize);
            }
            next[t.Sequence] = expected + 1;
        }
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
        if (promptTokens.Length >= SequenceContextSize)
            throw new PromptTooLongException(promptTokens.Length, SequenceContextSize);
        return GenerateTokens(promptTokens, options ?? new GenerationOptions(), cancellationToken);
    }

    private IEnumerable<GeneratedToken> GenerateTokens(int[] promptTokens, GenerationOptions options, CancellationToken cancellationToken)
    {
        var vocab = _model.Vocabulary;
        var sampler = new Sampler(options.Sampling, _model.Tokenizer, SequenceContextSize);
        var decoder = new StreamingDecoder(_model.Tokenizer);
        var stop = StopReason.None;
        int generated = 0, evaluations = 0;
        var promptClock = Stopwatch.StartNew();
        Reset();
        float[] logits = Evaluate(promptTokens);
        var promptTime = promptClock.Elapsed;
        sampler.AcceptPrompt(promptTokens);
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
                if (Position >= SequenceContextSize)
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
