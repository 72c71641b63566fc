using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace LlamaAot.Threading;

/// <summary>
/// A piece of parallel work cut into chunks: during a run every chunk is executed exactly once, by whichever thread
/// of the pool claims it first, so a chunk's result must not depend on the thread that computes it.
/// </summary>
internal interface IParallelWork
{
    /// <summary>
    /// Computes chunk <paramref name="chunk"/>. <paramref name="thread"/> (in [0, <see cref="WorkerPool.Threads"/>))
    /// names the thread running it, for per-thread scratch; two chunks never run at once on one thread.
    /// </summary>
    void Execute(int thread, int chunk);
}

/// <summary>
/// A persistent pool of worker threads for the forward pass: no thread is created per token. The caller is thread 0.
/// <para>Threads claim chunks of a run from a shared counter, so a worker that the OS has descheduled (the cores are
/// shared with other processes) delays nobody: whoever is running takes the remaining chunks, and a run ends when
/// its chunks are done, not when every worker has shown up. Only a chunk already claimed by a worker that is then
/// descheduled is waited for, which is why chunks are small (<see cref="Plan"/>).</para>
/// <para>Waiting, the workers for the next run and the caller for the last chunks, is a short spin (a run follows
/// the previous one within microseconds during a forward pass), then a block, so a waiting thread gives its core to
/// the thread it waits for instead of fighting it.</para>
/// </summary>
public sealed class WorkerPool : IDisposable
{
    // How long a thread spins before it sleeps (100 us), a worker waiting for the next run or the caller for the last
    // chunks: it bridges the gaps between the operations of a forward pass and a running worker's last chunk; a
    // longer wait means the thread waited for is descheduled, and spinning on would take the CPU time it needs.
    private static readonly long SpinTicks = Stopwatch.Frequency / 10_000;

    /// <summary>Chunks a run is cut into per active thread: enough that a late thread's share is taken by the others.</summary>
    private const int ChunksPerThread = 8;

    private const int MaxChunks = ushort.MaxValue;

    private readonly Thread[] _workers;
    private readonly Sleeper[] _sleepers; // one per thread (the caller's unused): a worker is woken only for a run it takes part in
    private readonly object _doneGate = new();

    // The run in progress, one word so that a chunk is claimed by one compare-and-swap: the run's number (bits 32-63),
    // the next unclaimed chunk (16-31) and the number of chunks (0-15). A worker that arrives after its run has ended
    // fails that swap, so it can never take a chunk of a later run.
    private long _state;
    private IParallelWork? _work;
    private int _done;            // chunks of the run in progress that are finished
    private int _callerSleeping;  // 1 while the caller is blocked until the last chunk is done
    private volatile bool _disposed;
    private ExceptionDispatchInfo? _failure;
    private int _active;
    private int _using;           // threads taking part in the run in progress
    private readonly ThreadGovernor _governor;

    /// <summary>Creates a pool of <paramref name="threads"/> threads in all, the caller included.</summary>
    public WorkerPool(int threads)
        : this(threads, TimeProvider.System)
    {
    }

    /// <summary>A pool whose <see cref="Adaptive"/> backoff runs on <paramref name="time"/>.</summary>
    internal WorkerPool(int threads, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _active = threads;
        _governor = new ThreadGovernor(threads, time);
        _workers = new Thread[threads - 1];
        _sleepers = new Sleeper[threads];
        for (int i = 0; i < threads; i++)
            _sleepers[i] = new Sleeper();
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
    /// -tb for prompt processing share one pool. The others sleep.
    /// </summary>
    public int Active
    {
        get => _active;
        set => _active = value >= 1 && value <= Threads ? value : throw new ArgumentOutOfRangeException(nameof(value), value, $"1 to {Threads} threads");
    }

    /// <summary>
    /// Whether the thread count is the engine's choice (the user gave none): then fewer than <see cref="Active"/>
    /// threads are used while the workers are persistently late (see <see cref="ThreadGovernor"/>).
    /// </summary>
    public bool Adaptive { get; set; }

    /// <summary>
    /// Below this many multiply-adds (or element operations) a run is done by the caller alone: waking the workers
    /// and the final wait cost more than the work (stories260K's 64-wide matrices).
    /// </summary>
    internal long MinParallelCost { get; init; } = 1 << 16;

    /// <summary>Whether work of <paramref name="cost"/> multiply-adds is worth sharing with the workers now.</summary>
    internal bool Pays(long cost) => cost >= MinParallelCost && ThreadsNow() > 1;

    /// <summary>
    /// How to cut <paramref name="items"/> items into chunks whose starts are multiples of <paramref name="grain"/>:
    /// one chunk when the work (<paramref name="cost"/> multiply-adds in all) is too small to pay for the workers or
    /// one thread is active, else about <see cref="ChunksPerThread"/> per active thread.
    /// </summary>
    internal ChunkPlan Plan(int items, int grain, long cost)
    {
        if (!Pays(cost) || items <= grain)
            return new ChunkPlan(items, Math.Max(items, 1));
        int target = ThreadsNow() * ChunksPerThread;
        long size = ((long)items + target - 1) / target;
        size = Math.Max(size, ((long)items + MaxChunks - 1) / MaxChunks);
        size = (size + grain - 1) / grain * grain;
        return new ChunkPlan(items, (int)size);
    }

    /// <summary>
    /// Runs chunks [0, <paramref name="chunks"/>) of <paramref name="work"/> on the active threads and returns when all
    /// are done (on the caller alone when there is one chunk or one active thread).
    /// </summary>
    internal void Run(IParallelWork work, int chunks)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(chunks, MaxChunks);
        int threads = ThreadsNow();
        if (chunks <= 1 || threads == 1)
        {
            for (int c = 0; c < chunks; c++)
                work.Execute(0, c);
            return;
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        _work = work;
        _done = 0;
        _using = threads;
        uint run = Run(Volatile.Read(ref _state)) + 1;
        // A full fence between publishing the run and reading the sleepers: a worker going to sleep either sees the
        // run or is seen asleep here (it says so before its last look).
        Interlocked.Exchange(ref _state, (long)run << 32 | (uint)chunks);
        for (int i = 1; i < threads; i++)
            _sleepers[i].Wake();
        int callerChunks = Work(0, run);
        WaitForChunks(chunks);
        if (Adaptive)
            _governor.Record(threads, chunks, callerChunks);
        if (_failure is { } failure)
        {
            _failure = null;
            failure.Throw();
        }
    }

    private int ThreadsNow() => Adaptive ? _governor.Threads(_active) : _active;

    private static uint Run(long state) => (uint)((ulong)state >> 32);

    /// <summary>Claims and executes chunks of run <paramref name="run"/> until none is left, then counts them done; returns how many.</summary>
    private int Work(int thread, uint run)
    {
        int done = 0, chunks = 0;
        while (true)
        {
            long state = Volatile.Read(ref _state);
            if (Run(state) != run)
                break; // only when nothing was claimed: a run ends after its chunks are counted
            int next = (int)(state >> 16) & 0xFFFF;
            chunks = (int)state & 0xFFFF;
            if (next >= chunks)
                break;
            // Read before the swap: if the swap succeeds, the run was still in progress, so this is its work.
            var work = _work!;
            if (Interlocked.CompareExchange(ref _state, state + (1 << 16), state) != state)
                continue;
            try
            {
                work.Execute(thread, next);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            }
            done++;
        }
        if (done == 0)
            return 0;
        // The same fence pattern as for the sleeping workers: either the caller sees the count, or this sees it asleep.
        if (Interlocked.Add(ref _done, done) == chunks && thread != 0 && Volatile.Read(ref _callerSleeping) != 0)
        {
            lock (_doneGate)
                Monitor.Pulse(_doneGate);
        }
        return done;
    }

    private void WaitForChunks(int chunks)
    {
        long deadline = 0;
        while (Volatile.Read(ref _done) != chunks)
        {
            if (SpinOnce(ref deadline))
                continue;
            lock (_doneGate)
            {
                Interlocked.Exchange(ref _callerSleeping, 1);
                while (Volatile.Read(ref _done) != chunks)
                    Monitor.Wait(_doneGate);
                Volatile.Write(ref _callerSleeping, 0);
            }
            return;
        }
    }

    private void WorkerLoop(int index)
    {
        uint seen = 0;
        while (true)
        {
            seen = WaitForRun(index, seen);
            if (_disposed)
                return;
            if (index < Volatile.Read(ref _using))
                Work(index, seen);
        }
    }

    /// <summary>Waits for a run other than <paramref name="seen"/>: spins (while among the threads in use), then sleeps; returns its number.</summary>
    private uint WaitForRun(int index, uint seen)
    {
        long deadline = 0;
        while (index < Volatile.Read(ref _using))
        {
            uint run = Run(Volatile.Read(ref _state));
            if (run != seen)
                return run;
            if (!SpinOnce(ref deadline))
                break;
        }
        var sleeper = _sleepers[index];
        lock (sleeper)
        {
            Interlocked.Exchange(ref sleeper.Asleep, 1);
            uint run;
            while ((run = Run(Volatile.Read(ref _state))) == seen && !_disposed)
                Monitor.Wait(sleeper);
            Volatile.Write(ref sleeper.Asleep, 0);
            return run;
        }
    }

    /// <summary>Spins a moment; false once <see cref="SpinTicks"/> have passed since the first call (with a deadline of 0).</summary>
    private static bool SpinOnce(ref long deadline)
    {
        long now = Stopwatch.GetTimestamp();
        if (deadline == 0)
            deadline = now + SpinTicks;
        else if (now >= deadline)
            return false;
        Thread.SpinWait(8);
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // A spinning worker sees a new run with no chunks, then the flag; a sleeping one is woken to see them.
        Interlocked.Exchange(ref _state, (long)(Run(_state) + 1) << 32);
        foreach (var sleeper in _sleepers)
            sleeper.Wake();
        foreach (var t in _workers)
            t.Join();
    }

    /// <summary>
    /// Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>) cut into chunks (inline when the
    /// work, <paramref name="itemCost"/> operations per item, is small or one thread is active).
    /// </summary>
    internal void For(int count, int itemCost, Action<int, int> body)
    {
        var plan = Plan(count, 1, (long)count * itemCost);
        if (plan.Count <= 1)
        {
            body(0, count);
            return;
        }
        _for.Body = body;
        _for.Plan = plan;
        Run(_for, plan.Count);
        _for.Body = null;
    }

    private readonly ForWork _for = new();

    /// <summary>Where one worker sleeps until a run it takes part in (or the pool's end) wakes it.</summary>
    private sealed class Sleeper
    {
        public int Asleep; // 1 from just before the worker's last look at the run number until it wakes

        public void Wake()
        {
            if (Volatile.Read(ref Asleep) == 0)
                return;
            lock (this)
                Monitor.Pulse(this);
        }
    }

    private sealed class ForWork : IParallelWork
    {
        public Action<int, int>? Body;
        public ChunkPlan Plan;

        public void Execute(int thread, int chunk) => Body!(Plan.Start(chunk), Plan.End(chunk));
    }
}

/// <summary>[0, <see cref="Items"/>) cut into chunks of <see cref="Size"/> items, the last one possibly shorter.</summary>
internal readonly record struct ChunkPlan(int Items, int Size)
{
    public int Count => (Items + Size - 1) / Size;

    public int Start(int chunk) => chunk * Size;

    public int End(int chunk) => (int)Math.Min(Items, (long)(chunk + 1) * Size);
}
