using System.Diagnostics;
using System.Runtime.InteropServices;
using LlamaAot.Sampling;

namespace LlamaAot.Server.Scheduling;

/// <summary>
/// Continuous batching over one <see cref="LlamaContext"/> (llama-server's slots): each of the context's sequences is a
/// slot with its own region of the KV cache; one thread runs the steps. A step admits waiting requests into free
/// slots (the slot whose cache shares the longest start with the prompt, so a conversation resent turn after turn
/// evaluates only its new tokens), drops requests whose client left, then evaluates ONE batch for every active slot:
/// the token each generating slot sampled last and, in the room left up to the batch size, the next prompt tokens of
/// the slots still reading theirs. Each slot then samples from its own logits row. The kernels compute every row the
/// same whatever else is in the batch, so a request's greedy text does not depend on what shares its steps.
/// </summary>
internal sealed class SlotScheduler : IDisposable
{
    private readonly LlamaContext _context;
    private readonly Slot[] _slots;
    private readonly LinkedList<SlotRequest> _waiting = new();
    private readonly Lock _gate = new();                  // guards _waiting, _free and each slot's Request
    private readonly ManualResetEventSlim _signal = new(false);
    private readonly Thread _thread;
    private readonly int _maxQueue, _batchSize, _nVocab;
    private readonly ServerMetrics _metrics;
    private readonly LlamaBatch _batch = new();
    private readonly int[] _endOfGeneration;             // token ids that end a generation (suppressed for ignore_eos)
    private int _free;
    private volatile bool _stopping;

    /// <param name="context">The engine; its <see cref="LlamaContext.Sequences"/> are the slots. The scheduler is its only user.</param>
    /// <param name="batchSize">Most tokens evaluated in one step (prompt tokens wait for the next step beyond it).</param>
    /// <param name="maxQueue">Requests that may wait when every slot is busy.</param>
    public SlotScheduler(LlamaContext context, int batchSize, int maxQueue, ServerMetrics metrics)
    {
        _context = context;
        _batchSize = Math.Max(batchSize, context.Sequences);
        _maxQueue = maxQueue;
        _metrics = metrics;
        _nVocab = context.Model.Config.NVocab;
        _slots = new Slot[context.Sequences];
        for (int i = 0; i < _slots.Length; i++)
            _slots[i] = new Slot(i);
        _free = _slots.Length;
        var vocabulary = context.Model.Vocabulary;
        _endOfGeneration = [.. Enumerable.Range(0, vocabulary.Count).Where(vocabulary.IsEndOfGeneration)];
        _thread = new Thread(Run) { IsBackground = true, Name = "llama-aot slots" };
        _thread.Start();
    }

    /// <summary>Positions each slot holds (the context divided among the slots).</summary>
    public int SlotContextSize => _context.SequenceContextSize;

    /// <summary>Slots with no request.</summary>
    public int IdleSlots
    {
        get
        {
            lock (_gate)
                return _free;
        }
    }

    /// <summary>
    /// Queues <paramref name="request"/> for the next free slot; false when the slots are busy and
    /// <see cref="ServerOptions.MaxQueue"/> requests already wait.
    /// </summary>
    public bool TryEnqueue(SlotRequest request)
    {
        // Registered before the request is visible to the scheduler's thread, which disposes it when the request ends.
        request.Registration = request.Cancellation.Register(static s => ((SlotScheduler)s!)._signal.Set(), this);
        lock (_gate)
        {
            if (_stopping || _waiting.Count >= _free + _maxQueue)
            {
                request.Registration.Dispose();
                ObjectDisposedException.ThrowIf(_stopping, this);
                return false;
            }
            _waiting.AddLast(request);
            _metrics.Deferred = _waiting.Count;
        }
        _signal.Set();
        return true;
    }

    private void Run()
    {
        while (true)
        {
            _signal.Reset();
            if (_stopping)
            {
                Shutdown();
                return;
            }
            try
            {
                if (!Step())
                    _signal.Wait();
            }
            catch (Exception e)
            {
                // Never let the thread die with requests waiting on it: whatever failed ends the requests it held.
                foreach (var slot in _slots)
                {
                    if (slot.Request is not null)
                        Finish(slot, "stop", $"the server failed: {e.Message}");
                }
            }
        }
    }

    /// <summary>One step: admit, drop, evaluate one batch, sample. False when there was nothing to do.</summary>
    private bool Step()
    {
        Admit();
        DropCancelled();
        var batch = Build(out int promptTokens, out int generated);
        if (batch.Count == 0)
            return false;
        long start = Stopwatch.GetTimestamp();
        ReadOnlySpan<float> logits;
        try
        {
            logits = _context.Decode(batch);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            foreach (var slot in _slots)
            {
                if (slot.Request is not null && slot.Row >= 0)
                    Finish(slot, "stop", $"the forward pass failed: {e.Message}");
            }
            return true;
        }
        _metrics.Pass(promptTokens, generated, _slots.Count(s => s.Request is not null), Stopwatch.GetTimestamp() - start);
        foreach (var slot in _slots)
        {
            if (slot.Request is not null && slot.Row >= 0)
            {
                int row = slot.Row;
                slot.Row = -1;
                Sample(slot, logits.Slice(row * _nVocab, _nVocab));
            }
        }
        _metrics.KvTokens = _slots.Sum(s => (long)_context.SequenceLength(s.Sequence));
        return true;
    }

    /// <summary>Moves waiting requests into free slots, each to the slot whose cache starts with most of its prompt.</summary>
    private void Admit()
    {
        while (true)
        {
            SlotRequest request;
            Slot slot;
            lock (_gate)
            {
                while (_waiting.First is { } first && first.Value.Cancellation.IsCancellationRequested)
                {
                    _waiting.RemoveFirst();
                    Abandon(first.Value);
                }
                _metrics.Deferred = _waiting.Count;
                if (_waiting.First is null || _free == 0)
                    return;
                request = _waiting.First.Value;
                _waiting.RemoveFirst();
                _metrics.Deferred = _waiting.Count;
                slot = _slots.Where(s => s.Request is null).MaxBy(s => _context.SequenceTokens(s.Sequence).CommonPrefixLength(request.Prompt))!;
                slot.Request = request;
                _free--;
                _metrics.Processing = _slots.Length - _free;
            }
            slot.Start(_context, request);
        }
    }

    /// <summary>Ends the requests whose client left or whose time ran out, freeing their slots (waiting ones too).</summary>
    private void DropCancelled()
    {
        foreach (var slot in _slots)
        {
            if (slot.Request is { Cancellation.IsCancellationRequested: true })
                Finish(slot, "cancelled");
        }
        lock (_gate)
        {
            for (var node = _waiting.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Cancellation.IsCancellationRequested)
                {
                    _waiting.Remove(node);
                    Abandon(node.Value);
                }
                node = next;
            }
            _metrics.Deferred = _waiting.Count;
        }
    }

    /// <summary>
    /// The step's batch: the last sampled token of each generating slot, then prompt tokens of the slots still reading
    /// their prompt, as many as the batch size leaves room for; logits for a slot's last token in the batch only when
    /// it is the token to sample after.
    /// </summary>
    private LlamaBatch Build(out int promptTokens, out int generated)
    {
        var batch = _batch;
        batch.Clear();
        promptTokens = generated = 0;
        int room = _batchSize;
        foreach (var slot in _slots)
        {
            if (slot.Request is null || slot.Last < 0)
                continue;
            int position = _context.SequenceLength(slot.Sequence);
            if (position >= _context.SequenceContextSize)
            {
                Finish(slot, "length"); // the context is full: as llama-server without context shift
                continue;
            }
            slot.Row = batch.LogitRows;
            batch.Add(slot.Last, position, slot.Sequence, logits: true);
            generated++;
            room--;
        }
        foreach (var slot in _slots)
        {
            if (room <= 0)
                break;
            if (slot.Request is not { } request || slot.Last >= 0)
                continue;
            int position = _context.SequenceLength(slot.Sequence);
            int n = Math.Min(request.Prompt.Length - position, room);
            for (int i = 0; i < n; i++)
            {
                bool last = position + i == request.Prompt.Length - 1;
                if (last)
                    slot.Row = batch.LogitRows;
                batch.Add(request.Prompt[position + i], position + i, slot.Sequence, logits: last);
            }
            promptTokens += n;
            room -= n;
        }
        return batch;
    }

    /// <summary>Samples a slot's next token from its row of logits and hands out the text it completes.</summary>
    private void Sample(Slot slot, ReadOnlySpan<float> logits)
    {
        var request = slot.Request!;
        if (request.Options.IgnoreEos)
        {
            // The row is the context's own buffer, read by this thread only until the next step.
            var writable = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(logits), logits.Length);
            foreach (int eog in _endOfGeneration)
                writable[eog] = float.NegativeInfinity;
        }
        int id;
        try
        {
            id = request.Sampler.Sample(logits);
            request.Sampler.Accept(id);
        }
        catch (GrammarException e)
        {
            Finish(slot, "stop", $"the grammar cannot continue: {e.Message}", invalid: true);
            return;
        }
        var logprob = request.Logprobs >= 0 ? Logprobs.Of(_context.Model.Tokenizer, logits, id, request.Logprobs) : null;
        if (_context.Model.Vocabulary.IsEndOfGeneration(id))
        {
            if (logprob is not null)
                request.Writer.TryWrite(new SlotEvent("", logprob, null));
            Finish(slot, "stop");
            return;
        }
        _metrics.Predicted();
        slot.Generated++;
        slot.Last = id;
        string text = slot.Stops!.Push(slot.Decoder!.Push(id), out bool hit);
        request.Writer.TryWrite(new SlotEvent(text, logprob, null));
        if (hit)
            Finish(slot, "stop", stopString: true);
        else if (request.Options.MaxTokens >= 0 && slot.Generated >= request.Options.MaxTokens)
            Finish(slot, "length");
    }

    /// <summary>Ends a slot's request: the text held back, the finish event, and the slot back to the free ones.</summary>
    private void Finish(Slot slot, string reason, string? error = null, bool stopString = false, bool invalid = false)
    {
        var request = slot.Request!;
        string rest = stopString || error is not null ? "" : slot.Stops!.Flush(slot.Decoder!.Flush());
        request.Writer.TryWrite(new SlotEvent(rest, null, new SlotFinish(reason, request.Prompt.Length, slot.Generated, slot.Reused, error, invalid)));
        request.Writer.TryComplete();
        request.Registration.Dispose();
        slot.Clear();
        lock (_gate)
        {
            slot.Request = null;
            _free++;
            _metrics.Processing = _slots.Length - _free;
        }
    }

    private static void Abandon(SlotRequest request, string? error = null)
    {
        request.Writer.TryWrite(new SlotEvent("", null, new SlotFinish("cancelled", request.Prompt.Length, 0, 0, error)));
        request.Writer.TryComplete();
        request.Registration.Dispose();
    }

    private void Shutdown()
    {
        foreach (var slot in _slots)
        {
            if (slot.Request is not null)
                Finish(slot, "stop", "the server is shutting down");
        }
        lock (_gate)
        {
            foreach (var request in _waiting)
                Abandon(request, "the server is shutting down");
            _waiting.Clear();
        }
    }

    /// <summary>Stops the scheduler's thread; requests still running or waiting end with an error.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
                return;
            _stopping = true;
        }
        _signal.Set();
        _thread.Join();
    }

    /// <summary>One sequence of the context and the generation it runs.</summary>
    private sealed class Slot(int sequence)
    {
        public int Sequence { get; } = sequence;

        /// <summary>The request it serves; null when free (set and cleared under the scheduler's gate).</summary>
        public SlotRequest? Request;

        /// <summary>The token sampled last, not yet evaluated; -1 while the prompt is being read.</summary>
        public int Last = -1;

        /// <summary>Its row in the logits of the step being evaluated; -1 when it has none.</summary>
        public int Row = -1;

        public int Generated, Reused;
        public Tokenizers.StreamingDecoder? Decoder;
        public StopStrings? Stops;

        /// <summary>
        /// Takes <paramref name="request"/>: keeps the part of the cache its prompt starts with (at least its last token
        /// is evaluated again, for the logits to sample from) and sets up its decoder and stop strings.
        /// </summary>
        public void Start(LlamaContext context, SlotRequest request)
        {
            int common = context.SequenceTokens(Sequence).CommonPrefixLength(request.Prompt);
            Reused = context.Truncate(Sequence, Math.Min(common, request.Prompt.Length - 1));
            Decoder = new Tokenizers.StreamingDecoder(context.Model.Tokenizer);
            Stops = new StopStrings(request.Options.Stop);
            Last = -1;
            Row = -1;
            Generated = 0;
        }

        public void Clear()
        {
            Last = Row = -1;
            Decoder = null;
            Stops = null;
        }
    }
}
