using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text;
using System.Text.Json;
using LLama;
using LLama.Common;
using LLama.Native;

namespace LlamaAot.Bench;

/// <summary>
/// llama-aot and llama.cpp side by side, in one run, on the same files and thread counts: prompt processing (pp512)
/// and generation (tg128), llama-bench's method, each repeated and reported as the median tokens/s with the ratio
/// llama-aot / llama.cpp, next to the machine's measured read bandwidth and the generation bound it implies.
/// llama-aot runs as its published binary (its `bench` command, JSON output); llama.cpp runs as the llama-bench binary
/// given with --llama-bench (a native build: the comparison that counts, see TOOLCHAIN.md), else in-process through
/// LLamaSharp (its bundled generic CPU build). The runs alternate between the two tools to spread the machine's noise.
/// <code>dotnet run -c Release --project bench/LlamaAot.Bench -- side-by-side BINARY MODEL [MODEL...] [--threads 1,2] [--repetitions 3] [--llama-bench PATH] [--out DIR]</code>
/// </summary>
internal static class SideBySide
{
    private const int PromptTokens = 512, GenTokens = 128;

    public static int Run(string[] args)
    {
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (positional.Count < 2)
        {
            Console.Error.WriteLine("usage: side-by-side LLAMA_AOT_BINARY MODEL [MODEL...] [--threads 1,2] [--repetitions 3] [--llama-bench PATH] [--out DIR]");
            return 2;
        }
        string binary = positional[0];
        var models = positional.Skip(1).ToList();
        int[] threads = Option(args, "--threads", "1,2").Split(',').Select(int.Parse).ToArray();
        int repetitions = int.Parse(Option(args, "--repetitions", "3"), CultureInfo.InvariantCulture);
        string outDir = Option(args, "--out", Path.Combine("bench", "results", CpuSlug()));
        string? llamaBench = Option(args, "--llama-bench", "") is { Length: > 0 } given ? Path.GetFullPath(given) : null;
        foreach (string file in models.Prepend(binary).Concat(llamaBench is null ? [] : [llamaBench]).Where(f => !File.Exists(f)))
        {
            Console.Error.WriteLine($"error: {file} does not exist (side-by-side needs the llama-aot binary, the models and, with --llama-bench, llama.cpp's llama-bench)");
            return 2;
        }

        NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        var rows = new List<string>();
        var bandwidth = threads.ToDictionary(t => t, ReadBandwidth);
        foreach (string model in models)
        {
            long weightBytes = new FileInfo(model).Length;
            foreach (int t in threads)
            {
                var aot = new List<(double Pp, double Tg)>();
                var cpp = new List<(double Pp, double Tg)>();
                for (int r = 0; r < repetitions; r++)
                {
                    aot.Add(RunBench(binary, ["bench"], model, t));
                    cpp.Add(llamaBench is null ? RunLlamaCpp(model, t) : RunBench(llamaBench, [], model, t));
                }
                double aotPp = Median(aot.Select(x => x.Pp)), cppPp = Median(cpp.Select(x => x.Pp));
                double aotTg = Median(aot.Select(x => x.Tg)), cppTg = Median(cpp.Select(x => x.Tg));
                double bound = bandwidth[t] * 1e9 / weightBytes;
                string name = Path.GetFileNameWithoutExtension(model);
                rows.Add($"| {name} | {t} | pp{PromptTokens} | {F(aotPp)} | {F(cppPp)} | **{F(aotPp / cppPp)}x** | |");
                rows.Add($"| {name} | {t} | tg{GenTokens} | {F(aotTg)} | {F(cppTg)} | **{F(aotTg / cppTg)}x** | {F(bound)} ({F(100 * aotTg / bound, 0)}% / {F(100 * cppTg / bound, 0)}%) |");
                Console.WriteLine(rows[^2]);
                Console.WriteLine(rows[^1]);
            }
        }
        string report = Report(binary, Isa(binary, models[0]), llamaBench, threads, repetitions, bandwidth, rows);
        SideBySide.WriteReport(outDir, "side-by-side", report);
        return 0;
    }

    /// <summary>Prints a report and writes it to OUT_DIR/NAME-date.md (bench/results/cpu by default).</summary>
    internal static void WriteReport(string outDir, string name, string report)
    {
        Directory.CreateDirectory(outDir);
        string path = Path.Combine(outDir, $"{name}-{DateTime.UtcNow:yyyyMMdd-HHmm}.md");
        File.WriteAllText(path, report);
        Console.WriteLine(report);
        Console.WriteLine($"written to {path}");
    }

    /// <summary>One run of llama-aot's `bench` or llama-bench (the same flags and the same JSON fields).</summary>
    internal static (double Pp, double Tg) RunBench(string binary, string[] command, string model, int threads)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in command.Concat(["-m", model, "-p", $"{PromptTokens}", "-n", $"{GenTokens}", "-t", $"{threads}", "-r", "1", "-o", "json"]))
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{binary} {string.Join(' ', command)} failed: {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        double pp = 0, tg = 0;
        foreach (var test in doc.RootElement.EnumerateArray())
        {
            if (test.GetProperty("n_prompt").GetInt32() > 0)
                pp = test.GetProperty("avg_ts").GetDouble();
            else
                tg = test.GetProperty("avg_ts").GetDouble();
        }
        return (pp, tg);
    }

    /// <summary>llama-bench's method through LLamaSharp: a warm-up, then pp (one batch) and tg (one token at a time).</summary>
    private static (double Pp, double Tg) RunLlamaCpp(string model, int threads)
    {
        var p = new ModelParams(model)
        {
            ContextSize = PromptTokens + GenTokens,
            BatchSize = PromptTokens,
            UBatchSize = PromptTokens,
            Threads = threads,
            BatchThreads = threads,
        };
        using var weights = LLamaWeights.LoadFromFile(p);
        using var context = weights.CreateContext(p);
        int nVocab = weights.Vocab.Count;
        var random = new Random(42);
        var prompt = new LLamaToken[PromptTokens];
        prompt[0] = weights.Vocab.BOS ?? 1;
        for (int i = 1; i < prompt.Length; i++)
            prompt[i] = random.Next(nVocab);

        double Prompt()
        {
            context.NativeHandle.MemoryClear();
            var batch = new LLamaBatch();
            for (int i = 0; i < prompt.Length; i++)
                batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
            var clock = Stopwatch.StartNew();
            Check(context.Decode(batch));
            return PromptTokens / clock.Elapsed.TotalSeconds;
        }
        double Generate()
        {
            context.NativeHandle.MemoryClear();
            var batch = new LLamaBatch();
            LLamaToken token = prompt[0];
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < GenTokens; i++)
            {
                batch.Clear();
                batch.Add(token, i, LLamaSeqId.Zero, true);
                Check(context.Decode(batch));
                token = random.Next(nVocab);
            }
            return GenTokens / clock.Elapsed.TotalSeconds;
        }
        Prompt(); // warm-up, as llama-bench does
        return (Prompt(), Generate());
    }

    private static void Check(DecodeResult r)
    {
        if (r != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode: {r}");
    }

    /// <summary>GB/s read by <paramref name="threads"/> threads streaming through 1 GiB with 256-bit loads (AVX2 and AVX-512 machines alike) (best of 5).</summary>
    private static unsafe double ReadBandwidth(int threads)
    {
        const long bytes = 1L << 30;
        byte* buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            NativeMemory.Fill(buffer, (nuint)bytes, 1);
            double best = 0;
            for (int run = 0; run < 5; run++)
            {
                var clock = Stopwatch.StartNew();
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long chunk = bytes / threads;
                    byte* p = buffer + t * chunk;
                    var acc = Vector256<byte>.Zero;
                    for (long i = 0; i < chunk; i += 128)
                        acc ^= Vector256.Load(p + i) ^ Vector256.Load(p + i + 32) ^ Vector256.Load(p + i + 64) ^ Vector256.Load(p + i + 96);
                    if (acc == Vector256<byte>.AllBitsSet)
                        Console.Write("");
                });
                best = Math.Max(best, bytes / clock.Elapsed.TotalSeconds / 1e9);
            }
            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(buffer);
        }
    }

    private static string Report(string binary, string isa, string? llamaBench, int[] threads, int repetitions, Dictionary<int, double> bandwidth, List<string> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# llama-aot vs llama.cpp, side by side");
        sb.AppendLine();
        sb.AppendLine($"- date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm}");
        sb.AppendLine($"- CPU: {CpuName()} ({Environment.ProcessorCount} logical cores)");
        sb.AppendLine($"- .NET: {RuntimeInformation.FrameworkDescription}; llama-aot binary: {binary} ({Git("rev-parse --short HEAD")}), kernel path: {isa}");
        sb.AppendLine(llamaBench is null
            ? "- llama.cpp: LLamaSharp 0.30.0's bundled CPU build (llama.cpp commit 815a2a591), its default settings"
            : $"- llama.cpp: {llamaBench}, its default settings");
        sb.AppendLine($"- method: llama-bench's (pp: BOS + random tokens in one batch; tg: one token at a time from an empty cache), medians of {repetitions} alternating runs");
        sb.AppendLine($"- read bandwidth (1 GiB, 256-bit loads): {string.Join(", ", threads.Select(t => $"{t} thread(s) {F(bandwidth[t])} GB/s"))}");
        sb.AppendLine();
        sb.AppendLine("| model | threads | test | llama-aot t/s | llama.cpp t/s | ratio | tg bound t/s (file size / bandwidth; share reached aot / cpp) |");
        sb.AppendLine("|---|---:|---|---:|---:|---:|---|");
        foreach (string row in rows)
            sb.AppendLine(row);
        return sb.ToString();
    }

    /// <summary>The kernel path the binary picks on this CPU, as its load line says (e.g. "avx2+avx-vnni").</summary>
    private static string Isa(string binary, string model)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string a in new[] { "-m", model, "-p", "a", "-n", "1", "-t", "1" })
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var kernels = System.Text.RegularExpressions.Regex.Match(stderr, @"kernels (\S+):");
        return kernels.Success ? kernels.Groups[1].Value : "unknown";
    }

    internal static string Git(string args)
    {
        try
        {
            var start = new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(start)!;
            string s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return s;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown commit";
        }
    }

    internal static string CpuName()
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line?.Split(':', 2)[1].Trim() ?? "unknown";
    }

    internal static string CpuSlug() => new(CpuName().Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray());

    internal static string Option(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    internal static string F(double v, int digits = 2) => v.ToString("F" + digits, CultureInfo.InvariantCulture);
}
