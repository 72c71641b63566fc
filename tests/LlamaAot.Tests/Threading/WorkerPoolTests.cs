using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Model;
using LlamaAot.Model.Ops;
using LlamaAot.Threading;

namespace LlamaAot.Tests.Threading;

/// <summary>
/// The pool's claiming of chunks: every chunk of a run exactly once whatever thread is late, a caller that sleeps
/// rather than spins while it waits, and products that are bit for bit the same whoever computes which rows.
/// </summary>
public unsafe class WorkerPoolTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)] // more threads than this machine's cores: workers are descheduled in the middle of runs
    public void Every_chunk_runs_exactly_once_when_a_worker_is_late(int threads)
    {
        using var pool = new WorkerPool(threads);
        var random = new Random(threads);
        var work = new CountingWork(threads);
        for (int run = 0; run < 300; run++)
        {
            int chunks = run == 0 ? ushort.MaxValue : random.Next(1, 200);
            // Every third run one worker stays in the first chunk it takes until every other chunk is done: the
            // others must take the rest (with shares fixed in advance they would wait for it, and it for them).
            int late = run % 3 == 0 && chunks >= threads ? 1 + run % (threads - 1) : -1;
            work.Start(chunks, late);
            pool.Run(work, chunks);
            for (int c = 0; c < chunks; c++)
                Assert.True(work.Runs[c] == 1, $"run {run}: chunk {c} of {chunks} ran {work.Runs[c]} times");
            Assert.False(work.TimedOut, $"run {run}: the late worker's chunk waited 10 s for the others' chunks");
            if (late > 0)
                Assert.Equal(1, work.ByThread[late]);
        }
    }

    [Fact]
    public void The_caller_sleeps_while_it_waits_for_a_long_chunk()
    {
        using var pool = new WorkerPool(2);
        var work = new LongChunkWork();
        // The caller's scheduler state ('S' blocked, 'R' running or runnable, as spinning and yielding are), sampled
        // from another thread while the caller waits for the worker's chunk.
        string stat = $"/proc/self/task/{Path.GetFileName(new DirectoryInfo("/proc/thread-self").LinkTarget)}/stat";
        var states = new List<char>();
        var sampler = new Thread(() =>
        {
            work.WorkerStarted.Wait(TimeSpan.FromSeconds(10));
            Thread.Sleep(50);
            for (int i = 0; i < 15; i++, Thread.Sleep(20))
                states.Add(File.ReadAllText(stat).Split(") ")[1][0]);
        });
        sampler.Start();
        pool.Run(work, 2);
        sampler.Join();
        Assert.True(work.WorkerStarted.IsSet, "the worker never took a chunk");
        Assert.True(states.Count(s => s == 'S') >= states.Count * 3 / 4, $"the caller's states while it waited: {string.Concat(states)}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_chunk_that_throws_surfaces_on_the_caller_and_the_pool_goes_on(bool onWorker)
    {
        using var pool = new WorkerPool(3);
        var failing = new FailingWork(onWorker);
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(failing, 64));
        Assert.Equal(onWorker ? "chunk failed on a worker" : "chunk failed on the caller", e.Message);
        Assert.Equal(64, failing.Executed); // the other chunks still ran: the run ended, nothing is left half claimed
        var work = new CountingWork(3);
        for (int run = 0; run < 20; run++)
        {
            work.Start(100, late: -1);
            pool.Run(work, 100);
            Assert.All(work.Runs, n => Assert.Equal(1, n));
        }
    }

    /// <summary>Dispose returns whatever the workers are doing: starting, spinning after a run, asleep.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(50)]
    public void Dispose_ends_every_worker(int msAfterLastRun)
    {
        for (int repeat = 0; repeat < 10; repeat++)
        {
            var pool = new WorkerPool(4);
            var work = new CountingWork(4);
            for (int run = 0; run < repeat; run++)
            {
                work.Start(40, late: -1);
                pool.Run(work, 40);
            }
            if (repeat > 0)
                Thread.Sleep(msAfterLastRun);
            var dispose = new Thread(pool.Dispose);
            dispose.Start();
            Assert.True(dispose.Join(TimeSpan.FromSeconds(20)), $"Dispose did not return ({repeat} runs, then {msAfterLastRun} ms)");
            Assert.Throws<ObjectDisposedException>(() => pool.Run(work, 40));
            pool.Dispose(); // twice is harmless
        }
    }

    /// <summary>
    /// A worker left out of the runs (-tb above -t, or a governor's limit) sleeps through them: waking it at every
    /// run, for it to find it has no part, costs a context switch per run and per left-out worker.
    /// </summary>
    [Fact]
    public void A_worker_left_out_sleeps_through_the_runs()
    {
        using var pool = new WorkerPool(3);
        var where = new ThreadPlaces(3);
        while (where.Tasks.Any(t => t is null)) // until every thread has taken a chunk and said which task it is
            pool.Run(where, 64);
        pool.Active = 2;
        var work = new CountingWork(3);
        work.Start(64, late: -1);
        pool.Run(work, 64);
        Thread.Sleep(50); // worker 2 has spun and gone to sleep
        long before = ThreadPlaces.VoluntarySwitches(where.Tasks[2]!);
        for (int run = 0; run < 200; run++)
        {
            work.Start(64, late: -1);
            pool.Run(work, 64);
            Assert.Equal(0, work.ByThread[2]);
        }
        long woken = ThreadPlaces.VoluntarySwitches(where.Tasks[2]!) - before;
        Assert.True(woken <= 2, $"the left-out worker went to sleep {woken} times in 200 runs");
    }

    /// <summary>
    /// Left to choose (no -t), a pool stops giving runs to a worker that keeps arriving after the caller has taken
    /// nearly every chunk; told a thread count, it keeps using it.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Only_a_pool_left_to_choose_leaves_out_a_persistently_late_worker(bool adaptive)
    {
        var time = new ManualTime(); // standing still: a worker left out is not tried again
        using var pool = new WorkerPool(2, time) { Adaptive = adaptive };
        var work = new CountingWork(2);
        for (int run = 0; run < 64; run++)
        {
            work.Start(50, late: 1, everyChunk: true);
            pool.Run(work, 50);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int workerChunks = 0, runs = 0;
        for (; runs < 16 || !adaptive && workerChunks == 0 && clock.Elapsed.TotalSeconds < 10; runs++)
        {
            work.Start(50, late: 1, everyChunk: true);
            pool.Run(work, 50);
            workerChunks += work.ByThread[1];
        }
        if (adaptive)
            Assert.True(workerChunks == 0, $"the late worker took {workerChunks} chunks in {runs} runs after it was found late");
        else
            Assert.True(workerChunks > 0, $"with an explicit thread count the worker took no chunk in {runs} runs");
    }

    [Fact]
    public void The_governor_leaves_out_late_workers_for_a_while_that_grows_while_they_stay_late()
    {
        var time = new ManualTime();
        var governor = new ThreadGovernor(4, time);
        void Window(int used, int chunks, int callerChunks)
        {
            for (int i = 0; i < 32; i++)
                governor.Record(used, chunks, callerChunks);
        }

        Window(4, 40, 10); // each worker kept the caller's pace
        Assert.Equal(4, governor.Threads(4));
        Window(4, 40, 20); // the workers did as much as the caller together: one of them would have done
        Assert.Equal(2, governor.Threads(4));
        Assert.Equal(1, governor.Threads(1)); // never more than the active ones
        time.Advance(49);
        Assert.Equal(2, governor.Threads(4));
        time.Advance(1); // 50 ms: all are tried again
        Assert.Equal(4, governor.Threads(4));
        Window(4, 40, 37); // still late: left out for 100 ms this time
        Assert.Equal(1, governor.Threads(4));
        time.Advance(99);
        Assert.Equal(1, governor.Threads(4));
        time.Advance(1);
        Assert.Equal(4, governor.Threads(4));
        Window(4, 40, 10); // on time again: the next lateness is forgiven after 50 ms again
        Window(4, 40, 40);
        time.Advance(50);
        Assert.Equal(4, governor.Threads(4));
    }

    public static TheoryData<string> Types => new() { "F16", "Q4_0", "Q8_0", "Q4_K_M", "Q6_K", "IQ4_NL" };

    /// <summary>
    /// Products cut into chunks of 16 rows (nothing is too small here) and claimed by 2, 3 or 8 threads, many times
    /// over so the claiming order varies, against the caller alone: bit for bit, for one token and for a batch, and
    /// for several products sharing one run.
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void Products_do_not_depend_on_who_claims_which_rows(string type)
    {
        using var file = GgufFile.Open(Shared.Stories260K(type));
        using var q = WeightMatrix.Load(file, "blk.0.attn_q.weight", 64, 64, KernelIsas.Best);
        using var k = WeightMatrix.Load(file, "blk.0.attn_k.weight", 64, 32, KernelIsas.Best);
        using var up = WeightMatrix.Load(file, "blk.0.ffn_up.weight", 64, 172, KernelIsas.Best);
        using var output = WeightMatrix.Load(file, file.FindTensor("output.weight") is null ? "token_embd.weight" : "output.weight", 64, 512, KernelIsas.Best);
        WeightMatrix[] products = [q, k, up, output];
        const int tokens = 37;
        var random = new Random(7);
        var x = new float[tokens * 64];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(random.NextDouble() * 2 - 1);

        float[] Multiply(WorkerPool pool, int n)
        {
            var y = new float[products.Sum(w => w.Rows) * n];
            using var matMul = new MatMul(pool);
            fixed (float* xp = x, yp = y)
            {
                float* at = yp;
                var targets = new MatMulTarget[products.Length];
                for (int i = 0; i < products.Length; i++, at += products[i - 1].Rows * n)
                    targets[i] = new MatMulTarget(products[i], at);
                matMul.Run(xp, n, targets);
            }
            return y;
        }

        foreach (int n in new[] { 1, tokens })
        {
            float[] expected;
            using (var alone = new WorkerPool(1))
                expected = Multiply(alone, n);
            foreach (int threads in new[] { 2, 3, 8 })
            {
                using var pool = new WorkerPool(threads) { MinParallelCost = 0 };
                for (int repeat = 0; repeat < 20; repeat++)
                    AssertBits(expected, Multiply(pool, n), $"{type}, {n} token(s), {threads} threads, repeat {repeat}");
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attention_does_not_depend_on_who_claims_which_heads(bool flash)
    {
        var config = new ModelConfig
        {
            Architecture = "llama", NVocab = 8, NEmbd = 8 * 16, NLayer = 1, NHead = 8, NHeadKv = 4, NFf = 8, HeadDim = 16,
            NCtxTrain = 256, NRot = 16, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-5f,
        };
        const int positions = 70, tokens = 5, kvDim = 4 * 16, qDim = 8 * 16;
        var random = new Random(3);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        float[] keys = Random(positions * kvDim), values = Random(positions * kvDim), queries = Random(tokens * qDim);
        using var cache = new KvCache(1, 256, 4, 16, KvCacheType.F16, KvCacheType.F16);
        fixed (float* kp = keys, vp = values)
        {
            for (int p = 0; p < positions; p++)
                cache.Store(0, p, kp + p * kvDim, vp + p * kvDim);
        }

        var batch = new LlamaBatch();
        batch.AddSequence(new int[tokens], positions - tokens);
        var ubatch = new UBatch(tokens);
        ubatch.Fill(batch, 0, tokens);

        float[] Attend(WorkerPool pool)
        {
            using var attention = new Attention(config, cache, pool.Threads, flash);
            var output = new float[tokens * qDim];
            fixed (float* q = queries, o = output)
                attention.Run(pool, 0, q, ubatch, o, AttentionOptions.Default(16));
            return output;
        }

        float[] expected;
        using (var alone = new WorkerPool(1))
            expected = Attend(alone);
        foreach (int threads in new[] { 2, 3, 8 })
        {
            using var pool = new WorkerPool(threads) { MinParallelCost = 0 };
            for (int repeat = 0; repeat < 20; repeat++)
                AssertBits(expected, Attend(pool), $"{threads} threads, repeat {repeat}");
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: value {i} is {actual[i]:R}, {expected[i]:R} on one thread");
        }
    }

    /// <summary>Counts how often each chunk runs and which thread runs it; one thread may sleep in its first chunk, or in each.</summary>
    private sealed class CountingWork(int threads) : IParallelWork
    {
        public int[] Runs = [];
        public readonly int[] ByThread = new int[threads];
        public bool TimedOut;
        private readonly ManualResetEventSlim _lateStarted = new(), _othersDone = new();
        private int _late, _lateChunks, _others;
        private bool _everyChunk;

        /// <summary>
        /// A run of <paramref name="chunks"/> chunks, <paramref name="late"/> (if not -1) the late thread: it sleeps
        /// 5 ms in each chunk (<paramref name="everyChunk"/>), or stays in its first one until all others are done
        /// while the other threads wait in theirs until it has one.
        /// </summary>
        public void Start(int chunks, int late, bool everyChunk = false)
        {
            Runs = new int[chunks];
            Array.Clear(ByThread);
            TimedOut = false;
            _lateStarted.Reset();
            _othersDone.Reset();
            _late = late;
            _lateChunks = _others = 0;
            _everyChunk = everyChunk;
        }

        public void Execute(int thread, int chunk)
        {
            Interlocked.Increment(ref Runs[chunk]);
            Interlocked.Increment(ref ByThread[thread]);
            if (_late < 0)
                return;
            if (_everyChunk)
            {
                if (thread == _late)
                    Thread.Sleep(5);
                return;
            }
            if (thread == _late && Interlocked.Increment(ref _lateChunks) == 1)
            {
                _lateStarted.Set();
                TimedOut |= !_othersDone.Wait(TimeSpan.FromSeconds(10));
                return;
            }
            TimedOut |= !_lateStarted.Wait(TimeSpan.FromSeconds(10));
            if (Interlocked.Increment(ref _others) == Runs.Length - 1)
                _othersDone.Set();
        }
    }

    /// <summary>
    /// Chunks that throw when a worker (or the caller) runs them; the other side's chunks wait until the throwing side
    /// has started one, so that it takes part whoever is scheduled first.
    /// </summary>
    private sealed class FailingWork(bool onWorker) : IParallelWork
    {
        private readonly ManualResetEventSlim _throwerStarted = new();
        private int _executed;

        public int Executed => _executed;

        public void Execute(int thread, int chunk)
        {
            Interlocked.Increment(ref _executed);
            if (thread != 0 != onWorker)
            {
                _throwerStarted.Wait(TimeSpan.FromSeconds(10));
                return;
            }
            _throwerStarted.Set();
            throw new InvalidOperationException(onWorker ? "chunk failed on a worker" : "chunk failed on the caller");
        }
    }

    /// <summary>Records each thread's /proc task directory (its thread id) as it runs a chunk.</summary>
    private sealed class ThreadPlaces(int threads) : IParallelWork
    {
        public readonly string?[] Tasks = new string?[threads];

        public void Execute(int thread, int chunk)
        {
            Tasks[thread] ??= "/proc/" + new DirectoryInfo("/proc/thread-self").LinkTarget;
            Thread.Sleep(1); // so that no thread takes every chunk before the others arrive
        }

        /// <summary>How often the thread of <paramref name="task"/> has blocked (gone to sleep) so far.</summary>
        public static long VoluntarySwitches(string task) =>
            long.Parse(File.ReadLines(Path.Combine(task, "status")).Single(l => l.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)).Split(':')[1].Trim());
    }

    /// <summary>A clock that moves only when told, in milliseconds.</summary>
    private sealed class ManualTime : TimeProvider
    {
        private long _now = 1;

        public override long TimestampFrequency => 1000;

        public override long GetTimestamp() => _now;

        public void Advance(long milliseconds) => _now += milliseconds;
    }

    /// <summary>Two chunks: the caller's returns once a worker has taken the other, which sleeps <see cref="SleepMs"/>.</summary>
    private sealed class LongChunkWork : IParallelWork
    {
        public const int SleepMs = 400;
        public readonly ManualResetEventSlim WorkerStarted = new();

        public void Execute(int thread, int chunk)
        {
            if (thread == 0)
            {
                WorkerStarted.Wait(TimeSpan.FromSeconds(10));
                return;
            }
            WorkerStarted.Set();
            Thread.Sleep(SleepMs);
        }
    }
}
