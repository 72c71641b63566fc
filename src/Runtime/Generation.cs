using System.Diagnostics;
using System.Runtime.InteropServices;
using LlamaAot.Sampling;
using LlamaAot.Tokenizers;

namespace LlamaAot;

/// <summary>
/// One generation on a session, a step at a time, for the synchronous and the streaming forms alike: each step
/// evaluates the token sampled before (the prompt, on the first) and samples the next, under the context's lock, so
/// the logits it reads are its own; the token is then checked against the stop rules.
/// </summary>
internal sealed class Generation
{
    private readonly LlamaSession _session;
    private readonly LlamaContext _context;
    private readonly int[] _prompt;
    private readonly GenerationOptions _options;
    private readonly Vocabulary _vocab;
    private readonly Sampler _sampler;
    private readonly StreamingDecoder _decoder;
    private readonly StopStrings _stops;
    private readonly Stopwatch _promptClock = new(), _evalClock = new(), _sampleClock = new();
    private int _last = -1; // sampled, handed out, not yet evaluated
    private int _generated, _evaluations, _evaluatedPrompt, _reused, _shifts;
    private StopReason _stop;

    public Generation(LlamaSession session, int[] prompt, GenerationOptions options)
    {
        _session = session;
        _context = session.Context;
        _prompt = prompt;
        _options = options;
        _vocab = _context.Model.Vocabulary;
        _sampler = new Sampler(options.Sampling, _context.Model.Tokenizer, _context.SequenceContextSize);
        _decoder = new StreamingDecoder(_context.Model.Tokenizer);
        _stops = new StopStrings(options.Stop);
        session.LastSeed = _sampler.Seed;
    }

    /// <summary>The next token, or null once generation has stopped.</summary>
    public GeneratedToken? Next(CancellationToken cancellationToken)
    {
        if (_stop != StopReason.None)
            return null;
        if (cancellationToken.IsCancellationRequested)
            return End(StopReason.Cancelled);
        if (_options.MaxTokens >= 0 && _generated >= _options.MaxTokens)
            return End(StopReason.MaxTokens);
        int id;
        lock (_context.DecodeLock)
        {
            ReadOnlySpan<float> logits;
            try
            {
                if (_last < 0)
                    logits = EvaluatePrompt(cancellationToken);
                else if (_context.SequenceLength(_session.Sequence) >= _context.SequenceContextSize)
                {
                    if (!_options.ContextShift || !TryShift(out logits))
                        return End(StopReason.ContextFull);
                }
                else
                {
                    _evalClock.Start();
                    logits = _session.Append([_last]);
                    _evalClock.Stop();
                    _evaluations++;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return End(StopReason.Cancelled);
            }
            _sampleClock.Start();
            if (_options.IgnoreEos)
            {
                SuppressEndOfGeneration(logits);
                _session.ForgetLogits(); // changed: a later prompt must not reuse them
            }
            id = _sampler.Sample(logits);
            _sampler.Accept(id);
            _sampleClock.Stop();
        }
        if (_vocab.IsEndOfGeneration(id))
            return End(StopReason.EndOfSequence);
        _generated++;
        _last = id;
        string text = _stops.Push(_decoder.Push(id), out bool hit);
        if (hit)
            _stop = StopReason.StopString;
        return new GeneratedToken(id, text);
    }

    private ReadOnlySpan<float> EvaluatePrompt(CancellationToken cancellationToken)
    {
        _promptClock.Start();
        try
        {
            var logits = _session.Prefill(_prompt, out _reused, cancellationToken);
            _evaluatedPrompt = _prompt.Length - _reused;
            _sampler.AcceptPrompt(_prompt);
            return logits;
        }
        finally
        {
            _promptClock.Stop();
        }
    }

    /// <summary>
    /// llama.cpp's context shift (server_context's pre_decode): keep the first Keep tokens (after BOS), drop half of
    /// the rest, then evaluate the token sampled last. The tokens after the dropped ones are evaluated again at their
    /// new positions (llama.cpp instead rotates their cached keys in place); false when nothing can be dropped.
    /// </summary>
    private bool TryShift(out ReadOnlySpan<float> logits)
    {
        logits = default;
        int nCtx = _context.SequenceContextSize;
        int[] held = _context.SequenceTokens(_session.Sequence).ToArray();
        int keep = (_options.Keep < 0 ? _prompt.Length : _options.Keep + (_vocab.AddBos ? 1 : 0));
        keep = Math.Clamp(keep, 0, Math.Max(0, nCtx - 4));
        int left = held.Length - keep;
        int discard = Math.Clamp(left / 2, 0, Math.Max(0, left - 1));
        if (discard == 0)
            return false;
        int kept = _session.Truncate(keep);
        int[] tail = [.. held.AsSpan(kept, keep - kept), .. held.AsSpan(keep + discard), _last];
        _evalClock.Start();
        logits = _session.Append(tail);
        _evalClock.Stop();
        _evaluations++;
        _shifts++;
        return true;
    }

    // The logits are the context's own buffer, read and written only under its lock.
    private void SuppressEndOfGeneration(ReadOnlySpan<float> logits)
    {
        var writable = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(logits), logits.Length);
        for (int id = 0; id < writable.Length; id++)
        {
            if (_vocab.IsEndOfGeneration(id))
                writable[id] = float.NegativeInfinity;
        }
    }

    private GeneratedToken? End(StopReason reason)
    {
        _stop = reason;
        return null;
    }

    /// <summary>The text still held back when generation ends (none after a stop string: it ends before it).</summary>
    public string Finish() => _stop == StopReason.StopString ? "" : _stops.Flush(_decoder.Flush());

    /// <summary>Records the stats, however enumeration ended (a consumer that stops early has cancelled).</summary>
    public void Close()
    {
        _session.LastStopString = _stops.Matched;
        _session.LastStats = new GenerationStats(_evaluatedPrompt, _reused, _shifts, _promptClock.Elapsed, _generated, _evaluations, _evalClock.Elapsed, _sampleClock.Elapsed,
            _stop == StopReason.None ? StopReason.Cancelled : _stop)
        {
            Grammar = _options.Sampling.Grammar is null ? null : new GrammarStats(_sampler.GrammarSamples, _sampler.GrammarFullPasses, _sampler.GrammarTime),
        };
    }
}

/// <summary>
/// Stop strings over a stream of text pieces (llama-server's find_stopping_strings): text that may be the start of a
/// stop string is held back until the next pieces show it is not; at a stop string, the text before it is released
/// and the rest dropped.
/// </summary>
internal sealed class StopStrings(IReadOnlyList<string> stops)
{
    private string _pending = "";

    /// <summary>The stop string found, once one is.</summary>
    public string? Matched { get; private set; }

    /// <summary>Adds a piece and returns the text now certain to come before any stop string.</summary>
    public string Push(string piece, out bool hit)
    {
        hit = false;
        if (stops.Count == 0)
            return piece;
        _pending += piece;
        int at = -1;
        foreach (string s in stops)
        {
            int i = s.Length == 0 ? -1 : _pending.IndexOf(s, StringComparison.Ordinal);
            if (i >= 0 && (at < 0 || i < at))
            {
                at = i;
                Matched = s;
            }
        }
        if (at >= 0)
        {
            hit = true;
            string before = _pending[..at];
            _pending = "";
            return before;
        }
        int held = 0;
        foreach (string s in stops)
        {
            for (int n = Math.Min(s.Length - 1, _pending.Length); n > held; n--)
            {
                if (_pending.AsSpan(_pending.Length - n).SequenceEqual(s.AsSpan(0, n)))
                {
                    held = n;
                    break;
                }
            }
        }
        string released = _pending[..^held];
        _pending = _pending[^held..];
        return released;
    }

    /// <summary>Releases what is held back, with <paramref name="last"/>, at the end of the stream.</summary>
    public string Flush(string last)
    {
        string rest = _pending + last;
        _pending = "";
        return rest;
    }
}
