namespace LlamaAot.Sampling;

/// <summary>
/// The last N accepted tokens and how often each occurs among them: the state of llama.cpp's penalties sampler
/// (<c>llama_sampler_penalties</c>: <c>ring_buffer&lt;llama_token&gt; prev</c> plus <c>token_count</c>).
/// </summary>
internal sealed class PenaltyHistory
{
    private readonly int[] _ring; // [window] the last accepted tokens; _ring[_oldest] is the oldest
    private int _oldest;
    private int _size;

    /// <summary>Occurrences of each token in the window; only tokens that occur are present.</summary>
    public Dictionary<int, int> Counts { get; }

    /// <param name="window">How many tokens to remember; 0 remembers none.</param>
    public PenaltyHistory(int window)
    {
        _ring = new int[window];
        // Sized up front so accepting tokens never allocates: the window holds at most that many distinct tokens.
        Counts = new Dictionary<int, int>(Math.Min(window, 1 << 16));
    }

    /// <summary>How many tokens the window holds at most (llama.cpp's <c>penalty_last_n</c>).</summary>
    public int Window => _ring.Length;

    /// <summary>How many tokens it holds now.</summary>
    public int Size => _size;

    /// <summary>
    /// Records an accepted token, dropping the oldest one when the window is full
    /// (<c>llama_sampler_penalties_accept</c>).
    /// </summary>
    public void Accept(int token)
    {
        if (_ring.Length == 0)
            return;

        if (_size == _ring.Length)
        {
            int old = _ring[_oldest];
            if (--Counts[old] == 0)
                Counts.Remove(old);
            _ring[_oldest] = token;
            _oldest = (_oldest + 1) % _ring.Length;
        }
        else
        {
            _ring[(_oldest + _size) % _ring.Length] = token;
            _size++;
        }

        Counts[token] = Counts.GetValueOrDefault(token) + 1;
    }

    /// <summary>Forgets every token (<c>llama_sampler_penalties_reset</c>).</summary>
    public void Clear()
    {
        _oldest = 0;
        _size = 0;
        Counts.Clear();
    }
}
