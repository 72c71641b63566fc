using System.Runtime.ExceptionServices;

namespace LlamaAot.Threading;

/// <summary>A piece of parallel work: every thread of the pool calls <see cref="Execute"/> once per run.</summary>
internal interface IParallelWork
{
    /// <summary>Runs this thread's share. <paramref name="thread"/> is in [0, <paramref name="threads"/>).</summary>
    void Execute(int thread, int threads);
}

/// <summary>
/// A persistent pool of worker threads for the forward pass: no thread is created per token. The caller is
/// thread 0; workers wait for the next run by spinning briefly (a run follows the previous one within
/// microseconds during a forward pass), then sleep until woken. Work is split by the work item itself,
/// deterministically, so results do not depend on the thread count.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    // How long a worker spins before it sleeps: long enough to bridge the gap between two operations of a forward
    // pass, short enough not to burn a core while the user reads the output.
    private const int SpinIterations = 20_000;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private IParallelWork? _work;
    private int _generation;
    private int _pending;
    private bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Creates a pool of <paramref name="threads"/> threads in all, the caller included.</summary>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _active = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"llama-aot worker {index}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads in the pool, the caller included.</summary>
    public int Threads { get; }

    /// <summary>
    /// Threads that take part in the next runs (1 to <see cref="Threads"/>): llama.cpp's -t for token generation and
    /// -tb for prompt processing share one pool. The others stay idle.
    /// </summary>
    public int Active
    {
        get => _active;
        set => _active = value >= 1 && value <= Threads ? value : throw new ArgumentOutOfRangeException(nameof(value), value, $"1 to {Threads} threads");
    }

    private int _active;

    /// <summary>Runs <paramref name="work"/> on every thread and returns when all have finished.</summary>
    internal void Run(IParallelWork work)
    {
        int active = _active;
        if (active == 1)
        {
            work.Execute(0, 1);
            return;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        _work = work;
        Volatile.Write(ref _pending, Threads - 1);
        lock (_gate)
        {
            _generation++;
            Monitor.PulseAll(_gate);
        }
        try
        {
            work.Execute(0, active);
        }
        finally
        {
            var spinner = new SpinWait();
            while (Volatile.Read(ref _pending) != 0)
                spinner.SpinOnce(sleep1Threshold: -1);
            _work = null;
        }
        if (_failure is { } failure)
        {
            _failure = null;
            failure.Throw();
        }
    }

    private void WorkerLoop(int index)
    {
        int seen = 0;
        while (true)
        {
            int spins = 0;
            while (Volatile.Read(ref _generation) == seen)
            {
                if (++spins < SpinIterations)
                {
                    Thread.SpinWait(8);
                    continue;
                }
                lock (_gate)
                {
                    while (_generation == seen && !_disposed)
                        Monitor.Wait(_gate);
                }
                if (_disposed)
                    return;
            }
            seen = Volatile.Read(ref _generation);
            if (_disposed)
                return;
            try
            {
                int active = _active;
                if (index < active)
                    _work!.Execute(index, active);
            }
            catch (Exception e)
            {
                _failure ??= ExceptionDispatchInfo.Capture(e);
            }
            Interlocked.Decrement(ref _pending);
        }
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        lock (_gate)
        {
            _disposed = true;
            _generation++;
            Monitor.PulseAll(_gate);
        }
        foreach (var t in _workers)
            t.Join();
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>) split into one contiguous range
    /// per active thread (inline when there is one thread or one item).
    /// </summary>
    internal void For(int count, Action<int, int> body)
    {
        if (count <= 1 || _active == 1)
        {
            body(0, count);
            return;
        }
        _for.Body = body;
        _for.Count = count;
        Run(_for);
        _for.Body = null;
    }

    private readonly ForWork _for = new();

    private sealed class ForWork : IParallelWork
    {
        public Action<int, int>? Body;
        public int Count;

        public void Execute(int thread, int threads)
        {
            var (start, end) = Split(Count, thread, threads);
            if (start < end)
                Body!(start, end);
        }
    }

    /// <summary>
    /// Splits [0, count) into <paramref name="threads"/> contiguous ranges whose starts are multiples of
    /// <paramref name="grain"/>; returns this thread's range (possibly empty).
    /// </summary>
    internal static (int Start, int End) Split(int count, int thread, int threads, int grain = 1)
    {
        int units = (count + grain - 1) / grain;
        int perThread = units / threads, extra = units % threads;
        int startUnit = thread * perThread + Math.Min(thread, extra);
        int endUnit = startUnit + perThread + (thread < extra ? 1 : 0);
        return (Math.Min(count, startUnit * grain), Math.Min(count, endUnit * grain));
    }
}
