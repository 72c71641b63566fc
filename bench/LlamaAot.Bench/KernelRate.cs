using System.Diagnostics;
using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Bench;

/// <summary>
/// A quick read of one kernel's speed, without BenchmarkDotNet's minutes: the matrix-vector kernel a model load
/// would pick for TYPE at K, on a weight matrix of each given size (one that fits in L2 shows the instruction cost,
/// one far beyond the caches the memory-bound rate), run for about a second per size on one thread; prints weight
/// GB/s, the median of 5 rounds.
///   kernel-rate TYPE [K] [BYTES...]    e.g. kernel-rate F16 2048 524288 268435456
/// With TOKENS=N in the environment, the matrix-matrix kernel on N tokens instead (GFLOP/s), as prompts run it.
/// With CLOCK=cpu, rates per second of this thread's CPU time instead of wall time: on a machine other processes
/// share, time sliced away then does not count (caches shared with them still do).
/// Run with DOTNET_TieredCompilation=0 (and DOTNET_EnableAVX512=0 for the AVX2 path).
/// </summary>
internal static unsafe class KernelRate
{
    public static int Run(string[] args)
    {
        var format = Formats.Get(Enum.Parse<GgmlType>(args[0], ignoreCase: true));
        int k = args.Length > 1 ? int.Parse(args[1]) : 2048;
        var sizes = args.Length > 2 ? args[2..].Select(long.Parse).ToArray() : [512L << 10, 256L << 20];
        var entry = KernelRegistry.Find(format.Type, KernelIsas.Best, k, allowRepack: true, () => true)!;
        Console.WriteLine($"{entry.GemvName} ({KernelIsas.Best}), K = {k}");
        long rowBytes = format.RowBytes(k);
        var x = new float[k];
        var random = new Random(1);
        for (int i = 0; i < k; i++)
            x[i] = (float)(random.NextDouble() * 2 - 1);
        int tokens = int.Parse(Environment.GetEnvironmentVariable("TOKENS") ?? "1");
        bool cpuClock = Environment.GetEnvironmentVariable("CLOCK") == "cpu";
        if (tokens > 1)
            Console.WriteLine($"{entry.GemmName}, {tokens} tokens");
        int xRowBytes = entry.Activations.RowBytes(k);
        var xq = new byte[xRowBytes * tokens];
        for (int t = 0; t < tokens; t++)
            entry.Activations.Quantize(x, xq.AsSpan(t * xRowBytes, xRowBytes));
        foreach (long size in sizes)
        {
            int rows = (int)Math.Max(entry.Rows, size / rowBytes / entry.Rows * entry.Rows);
            long bytes = rows * rowBytes;
            byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            float* y = (float*)NativeMemory.AlignedAlloc((nuint)rows * (nuint)tokens * sizeof(float), 64);
            var row = new byte[rowBytes];
            for (int r = 0; r < rows; r++)
            {
                format.Quantize(x.Select(v => v * (float)(random.NextDouble() * 2 - 1)).ToArray(), row);
                Marshal.Copy(row, 0, (nint)(w + r * rowBytes), row.Length);
            }
            fixed (byte* xp = xq)
            {
                var rates = new double[5];
                for (int round = 0; round < rates.Length; round++)
                {
                    var clock = Stopwatch.StartNew();
                    double cpuStart = ThreadCpuSeconds();
                    long calls = 0;
                    while (clock.ElapsedMilliseconds < 200)
                    {
                        if (tokens > 1)
                            entry.Gemm(w, xp, y, rows, tokens, k, rows);
                        else
                            entry.Gemv(w, xp, y, rows, k);
                        calls++;
                    }
                    double seconds = cpuClock ? ThreadCpuSeconds() - cpuStart : clock.Elapsed.TotalSeconds;
                    rates[round] = (tokens > 1 ? calls * 2.0 * rows * k * tokens : calls * bytes) / seconds / 1e9;
                }
                Array.Sort(rates);
                Console.WriteLine($"  {bytes / 1024.0:N0} KiB: {rates[2]:F1} {(tokens > 1 ? "GFLOP/s" : "GB/s")} (rounds {string.Join(" ", rates.Select(r => r.ToString("F1")))})");
            }
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(y);
        }
        return 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds, Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    /// <summary>CPU time this thread has run (CLOCK_THREAD_CPUTIME_ID).</summary>
    private static double ThreadCpuSeconds()
    {
        const int ThreadCpuTime = 3;
        ClockGetTime(ThreadCpuTime, out var t);
        return t.Seconds + t.Nanoseconds * 1e-9;
    }
}
