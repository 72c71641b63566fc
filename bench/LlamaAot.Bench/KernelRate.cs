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
        var xq = new byte[entry.Activations.RowBytes(k)];
        entry.Activations.Quantize(x, xq);
        foreach (long size in sizes)
        {
            int rows = (int)Math.Max(entry.Rows, size / rowBytes / entry.Rows * entry.Rows);
            long bytes = rows * rowBytes;
            byte* w = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            float* y = (float*)NativeMemory.AlignedAlloc((nuint)rows * sizeof(float), 64);
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
                    long calls = 0;
                    while (clock.ElapsedMilliseconds < 200)
                    {
                        entry.Gemv(w, xp, y, rows, k);
                        calls++;
                    }
                    rates[round] = calls * bytes / clock.Elapsed.TotalSeconds / 1e9;
                }
                Array.Sort(rates);
                Console.WriteLine($"  {bytes / 1024.0:N0} KiB: {rates[2]:F1} GB/s (rounds {string.Join(" ", rates.Select(r => r.ToString("F1")))})");
            }
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(y);
        }
        return 0;
    }
}
