using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LlamaAot.Diagnostics;
using LlamaAot.Model;
using LlamaAot.Threading;

namespace LlamaAot;

/// <summary>
/// The engine that runs a model: the KV cache of its <see cref="Sequences"/>, the scratch buffers and the worker
/// threads, shared by every <see cref="LlamaSession"/> made on it (one per conversation). Thread-safe: calls from
/// several threads wait for each other (<see cref="DecodeLock"/>).
/// </summary>
public sealed unsafe class LlamaContext : IDisposable
{
    private readonly LlamaModel _model;
    private readonly WorkerPool _pool;
    private readonly KvCache _cache;
    private readonly ForwardState _state;
    private readonly bool _adaptive, _adaptiveBatch; // the thread counts are the engine's choice: see WorkerPool.Adaptive
    private readonly int[][] _held;                  // per sequence: the token id at each position the cache holds
    private readonly bool[] _leased;                 // per sequence: whether a session has it
    private readonly LlamaBatch _sequenceBatch = new();
    private float[] _output = [];                    // logits of a batch whose wanted rows span several passes
    private float* _lastLogits;                      // the last decode's logits: in the forward pass's buffer, or null for _output
    private int _lastLength;

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
        _leased = new bool[Sequences];
        _pool = new WorkerPool(Math.Max(Threads, BatchThreads));
        try
        {
            int maxBatch = Math.Min(options.BatchSize, nCtx);
            _cache = new KvCache(KvCacheLayout.For(c, Sequences, SequenceContextSize, maxBatch, options.KeyCacheType, options.ValueCacheType));
            _state = new ForwardState(c, _cache, _pool, maxBatch, options.FlashAttention);
            // After the cache, which refuses a context the memory cannot hold with a clear error.
            _held = new int[Sequences][];
            for (int i = 0; i < Sequences; i++)
                _held[i] = new int[SequenceContextSize];
        }
        catch
        {
            _state?.Dispose();
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
    public int Position => SequenceLength(0);

    /// <summary>
    /// Held while a decode runs: calls on one context from several threads wait for each other. Hold it yourself
    /// (<c>lock (context.DecodeLock) { ... }</c>) to read logits a decode returned before another thread's decode
    /// overwrites them.
    /// </summary>
    public Lock DecodeLock { get; } = new();

    /// <summary>Forgets every token of every sequence: each next evaluation starts at position 0.</summary>
    public void Reset()
    {
        lock (DecodeLock)
            _cache.Clear();
    }

    /// <summary>Tokens of <paramref name="sequence"/> in the KV cache: the position its next token goes at.</summary>
    public int SequenceLength(int sequence)
    {
        lock (DecodeLock)
            return _cache.Length(CheckSequence(sequence));
    }

    /// <summary>
    /// The token ids <paramref name="sequence"/> holds in the KV cache, position by position (what a new prompt is
    /// compared with to reuse the cache). Valid until the next decode or truncation of that sequence.
    /// </summary>
    public ReadOnlySpan<int> SequenceTokens(int sequence)
    {
        lock (DecodeLock)
            return _held[CheckSequence(sequence)].AsSpan(0, _cache.Length(sequence));
    }

    /// <summary>
    /// Forgets the tokens of <paramref name="sequence"/> from <paramref name="position"/> on (to change the end of a
    /// conversation) and returns the length kept, where its next token goes. That is <paramref name="position"/>,
    /// except on a model with sliding-window layers whose cache no longer holds the positions a token there would
    /// read: then the whole sequence is forgotten, 0 is returned, and it is evaluated again from its start.
    /// </summary>
    public int Truncate(int sequence, int position)
    {
        lock (DecodeLock)
            return _cache.Truncate(CheckSequence(sequence), position);
    }

    private int CheckSequence(int sequence) =>
        (uint)sequence < (uint)Sequences ? sequence : throw new ArgumentOutOfRangeException(nameof(sequence), $"sequence {sequence} is not one of this context's 0..{Sequences - 1}");

    /// <summary>
    /// A conversation on this context: it takes one of its <see cref="Sequences"/> (empty) until disposed, and shares
    /// the weights, threads and buffers with every other session of the context.
    /// </summary>
    /// <exception cref="InvalidOperationException">Every sequence already has a session.</exception>
    public LlamaSession CreateSession()
    {
        lock (DecodeLock)
        {
            int sequence = Array.IndexOf(_leased, false);
            if (sequence < 0)
                throw new InvalidOperationException($"all {Sequences} sequences of this context have a session: dispose one, or create the context with more (ContextOptions.Sequences)");
            _leased[sequence] = true;
            _cache.Truncate(sequence, 0);
            return new LlamaSession(this, sequence);
        }
    }

    internal void Release(int sequence)
    {
        lock (DecodeLock)
            _leased[sequence] = false;
    }

    /// <summary>
    /// Evaluates tokens after those already in the cache (sequence 0); returns the last token's logits [nVocab],
    /// valid until the next decode on this context.
    /// </summary>
    public ReadOnlySpan<float> Evaluate(scoped ReadOnlySpan<int> tokens, CancellationToken cancellationToken = default) =>
        EvaluateSequence(0, tokens, allLogits: false, cancellationToken);

    /// <summary>
    /// Evaluates tokens after those in the cache (sequence 0); returns the logits of every one, [tokens.Length *
    /// nVocab], valid until the next decode on this context.
    /// </summary>
    public ReadOnlySpan<float> EvaluateAll(scoped ReadOnlySpan<int> tokens, CancellationToken cancellationToken = default) =>
        EvaluateSequence(0, tokens, allLogits: true, cancellationToken);

    internal ReadOnlySpan<float> EvaluateSequence(int sequence, scoped ReadOnlySpan<int> tokens, bool allLogits, CancellationToken cancellationToken)
    {
        if (tokens.IsEmpty)
            throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        lock (DecodeLock)
        {
            var batch = _sequenceBatch;
            batch.Clear();
            int position = _cache.Length(CheckSequence(sequence));
            for (int i = 0; i < tokens.Length; i++)
                batch.Add(tokens[i], position + i, sequence, allLogits || i == tokens.Length - 1);
            return Decode(batch, cancellationToken);
        }
    }

    /// <summary>
    /// Evaluates the tokens of <paramref name="batch"/>, each after the tokens of its sequence already in the cache,
    /// and returns the logits of those marked for them: [rows * nVocab], rows in batch order, over the context's own
    /// buffer: valid until the next decode on this context (copy them to keep them). Several sequences in one batch
    /// give the same logits, bit for bit, as each alone. The batch is checked whole before anything runs; it runs in
    /// forward passes of at most <see cref="ContextOptions.BatchSize"/> tokens, and a cancellation between two of
    /// them throws <see cref="OperationCanceledException"/> with the passes done kept in the cache.
    /// </summary>
    /// <exception cref="ContextFullException">A sequence would go past <see cref="SequenceContextSize"/>.</exception>
    public ReadOnlySpan<float> Decode(LlamaBatch batch, CancellationToken cancellationToken = default)
    {
        lock (DecodeLock)
        {
            Check(batch);
            int nVocab = _model.Config.NVocab, row = 0, rows = batch.LogitRows;
            var ubatch = _state.Batch;
            ReadOnlySpan<float> result = default;
            for (int start = 0; start < batch.Count; start += ubatch.Capacity)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ubatch.Fill(batch, start, Math.Min(ubatch.Capacity, batch.Count - start));
                _pool.Active = ubatch.Count > 1 ? BatchThreads : Threads;
                _pool.Adaptive = ubatch.Count > 1 ? _adaptiveBatch : _adaptive;
                var logits = _model.Architecture.Forward(_state, ubatch);
                for (int t = 0; t < ubatch.Count; t++)
                {
                    _held[ubatch.Sequences[t]][ubatch.Positions[t]] = ubatch.Tokens[t];
                    _cache.Extend(ubatch.Sequences[t], ubatch.Positions[t] + 1);
                }
                if (ubatch.LogitRows == rows)
                {
                    result = logits; // every wanted row in one pass: handed out where the forward pass left it
                    _lastLogits = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(logits)); // native scratch: it does not move
                }
                else if (ubatch.LogitRows > 0)
                {
                    // Rows from several passes are gathered in one buffer, grown to the largest batch asked for.
                    if (_output.Length < (long)rows * nVocab)
                        _output = new float[(long)rows * nVocab];
                    logits.CopyTo(_output.AsSpan(row * nVocab));
                    result = _output.AsSpan(0, rows * nVocab);
                    _lastLogits = null;
                }
                row += ubatch.LogitRows;
                PassDone?.Invoke(ubatch.Count);
            }
            Decodes++;
            _lastLength = result.Length;
            return result;
        }
    }

    /// <summary>What the last <see cref="Decode"/> returned (read with the lock held).</summary>
    internal ReadOnlySpan<float> LastLogits => _lastLogits is not null ? new ReadOnlySpan<float>(_lastLogits, _lastLength) : _output.AsSpan(0, _lastLength);

    /// <summary>Called after each forward pass with its token count (tests use it to act between passes).</summary>
    internal Action<int>? PassDone { get; set; }

    /// <summary>Decodes run on this context so far: a session knows from it whether the logits it left are still there.</summary>
    internal long Decodes { get; private set; }

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
