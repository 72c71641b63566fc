namespace LlamaAot.Threading;

/// <summary>
/// How many of a pool's threads to use when the user did not say (no -t): all of them, unless the workers are
/// persistently late. A worker that the OS keeps descheduled (other processes share the cores) arrives after the
/// caller has claimed most chunks: it then adds wake-ups and takes CPU time the caller needs, for little work.
/// Every <see cref="WindowRuns"/> runs the threads that pulled their weight are counted, from the chunks the workers did
/// for each chunk the caller did; the others are left out for a while (longer each time the lateness is seen again),
/// then all are tried again. Results do not change: they never depend on the thread count.
/// </summary>
internal sealed class ThreadGovernor(int threads, TimeProvider time)
{
    private const int WindowRuns = 32;
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LastBackoff = TimeSpan.FromSeconds(2);

    private readonly int _threads = threads;
    private int _limit = threads;
    private long _retryAt;
    private TimeSpan _backoff = FirstBackoff;
    private int _windowThreads, _runs, _chunks, _callerChunks;

    /// <summary>Threads to use now of the <paramref name="active"/> ones.</summary>
    public int Threads(int active)
    {
        if (_limit < _threads && time.GetTimestamp() >= _retryAt)
            _limit = _threads;
        return Math.Min(active, _limit);
    }

    /// <summary>Records a run on <paramref name="used"/> threads: <paramref name="chunks"/> chunks, <paramref name="callerChunks"/> of them by the caller.</summary>
    public void Record(int used, int chunks, int callerChunks)
    {
        if (used != _windowThreads)
        {
            _windowThreads = used;
            _runs = _chunks = _callerChunks = 0;
        }
        _chunks += chunks;
        _callerChunks += callerChunks;
        if (++_runs < WindowRuns)
            return;
        // A worker keeping up does as many chunks as the caller; one doing less than half as many does not pay.
        int worth = 1 + (int)Math.Round((double)(_chunks - _callerChunks) / Math.Max(_callerChunks, 1));
        if (worth < used)
        {
            _limit = worth;
            _retryAt = time.GetTimestamp() + (long)(_backoff.TotalSeconds * time.TimestampFrequency);
            _backoff = TimeSpan.FromTicks(Math.Min(2 * _backoff.Ticks, LastBackoff.Ticks));
        }
        else if (used == _threads)
        {
            _backoff = FirstBackoff;
        }
        _runs = _chunks = _callerChunks = 0;
    }
}
