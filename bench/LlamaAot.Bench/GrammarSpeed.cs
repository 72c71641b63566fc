using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LlamaAot.Bench;

/// <summary>
/// What a grammar costs generation (issue 15: constrained output loses at most 10% of the generation rate): the
/// published binary's <c>run</c> on one model with and without <c>--grammar-file</c> (llama.cpp's json.gbnf by default,
/// read from ../shared), the same prompt, seed, sampling, <c>-n</c>, context and threads, the two alternating,
/// medians of the repetitions. The rates come from the binary's timing lines on standard error: a generated token
/// costs its evaluation (<c>eval:</c>) and its sampling (<c>sample:</c>, where the grammar's checks and steps run),
/// so the generation rate is sampled tokens / (eval + sample time); the grammar's own line gives its time per token
/// and the share of tokens that needed the full-vocabulary pass. The unconstrained run takes <c>--ignore-eos</c>, so
/// it always generates <c>-n</c> tokens; the constrained one cannot (where the grammar's sentence is complete, only
/// end of generation may follow), and its count is reported.
/// <code>dotnet run -c Release --project bench/LlamaAot.Bench -- grammar-speed BINARY MODEL [--grammar-file FILE] [--tokens 128] [--repetitions 5] [--threads 2] [--seed 1] [--prompt TEXT] [--out DIR]</code>
/// </summary>
internal static partial class GrammarSpeed
{
    /// <summary>The issue's bound: the constrained generation rate is at least this share of the unconstrained one.</summary>
    private const double Bound = 0.90;

    public static int Run(string[] args)
    {
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (positional.Count != 2)
        {
            Console.Error.WriteLine("usage: grammar-speed LLAMA_AOT_BINARY MODEL [--grammar-file FILE] [--tokens 128] [--repetitions 5] [--threads 2] [--seed 1] [--prompt TEXT] [--out DIR]");
            return 2;
        }
        string binary = positional[0], model = positional[1];
        string grammar = SideBySide.Option(args, "--grammar-file", Path.Combine("..", "shared", "reference", "grammar", "gbnf", "json.gbnf"));
        int tokens = int.Parse(SideBySide.Option(args, "--tokens", "128"), CultureInfo.InvariantCulture);
        int repetitions = int.Parse(SideBySide.Option(args, "--repetitions", "5"), CultureInfo.InvariantCulture);
        int threads = int.Parse(SideBySide.Option(args, "--threads", "2"), CultureInfo.InvariantCulture);
        string seed = SideBySide.Option(args, "--seed", "1");
        string prompt = SideBySide.Option(args, "--prompt", "");
        string outDir = SideBySide.Option(args, "--out", Path.Combine("bench", "results", SideBySide.CpuSlug()));
        foreach (string file in new[] { binary, model, grammar }.Where(f => !File.Exists(f)))
        {
            Console.Error.WriteLine($"error: {file} does not exist (grammar-speed needs the llama-aot binary, the model and the grammar file)");
            return 2;
        }

        // Room for the prompt and every token; llama.cpp's default sampling, the seed fixed.
        string[] common = ["-m", model, "-p", prompt, "-n", $"{tokens}", "-c", $"{tokens + 64}", "-t", $"{threads}", "-s", seed];
        string[] free = [.. common, "--ignore-eos"];
        string[] constrained = [.. common, "--grammar-file", grammar];
        RunOnce(binary, free); // warm-up: the model file into the page cache
        RunOnce(binary, constrained);
        var freeRuns = new List<Timings>();
        var grammarRuns = new List<Timings>();
        for (int r = 0; r < repetitions; r++)
        {
            freeRuns.Add(RunOnce(binary, free));
            grammarRuns.Add(RunOnce(binary, constrained));
            Console.WriteLine($"run {r + 1}: without {SideBySide.F(freeRuns[^1].TokensPerSecond)} t/s, with {SideBySide.F(grammarRuns[^1].TokensPerSecond)} t/s " +
                $"({grammarRuns[^1].Grammar!.FullPasses} of {grammarRuns[^1].Grammar!.Tokens} tokens needed the full pass)");
        }

        string report = Report(binary, model, grammar, common, repetitions, freeRuns, grammarRuns);
        SideBySide.WriteReport(outDir, "grammar-speed", report);
        return 0;
    }

    /// <summary>The grammar's perf line of <c>run</c> (RunCommand.GrammarLine).</summary>
    internal sealed record GrammarLine(int Tokens, int FullPasses, double MillisecondsPerToken);

    /// <summary>One run's timing lines: tokens sampled and the time spent evaluating and sampling them.</summary>
    internal sealed record Timings(int Sampled, int Evaluated, double EvalMilliseconds, double SampleMilliseconds, string Stop, GrammarLine? Grammar)
    {
        public double TokensPerSecond => Sampled / ((EvalMilliseconds + SampleMilliseconds) / 1000);

        public double EvalTokensPerSecond => Evaluated / (EvalMilliseconds / 1000);

        public double SampleMillisecondsPerToken => SampleMilliseconds / Sampled;
    }

    private static Timings RunOnce(string binary, string[] args)
    {
        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        _ = stdout.Result;
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{binary} {string.Join(' ', args)} failed (exit {p.ExitCode}): {stderr}");
        return Parse(stderr);
    }

    /// <summary>Reads run's timing lines from its standard error.</summary>
    internal static Timings Parse(string stderr)
    {
        var eval = EvalLine().Match(stderr);
        var sample = SampleLine().Match(stderr);
        var stop = StopLine().Match(stderr);
        if (!eval.Success || !sample.Success || !stop.Success)
            throw new InvalidOperationException($"no timing lines in the binary's standard error:\n{stderr}");
        var grammar = GrammarPerfLine().Match(stderr);
        return new Timings(
            int.Parse(sample.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(eval.Groups[1].Value, CultureInfo.InvariantCulture),
            double.Parse(eval.Groups[2].Value, CultureInfo.InvariantCulture),
            double.Parse(sample.Groups[2].Value, CultureInfo.InvariantCulture),
            stop.Groups[1].Value.Trim(),
            grammar.Success
                ? new GrammarLine(int.Parse(grammar.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(grammar.Groups[2].Value, CultureInfo.InvariantCulture),
                    double.Parse(grammar.Groups[3].Value, CultureInfo.InvariantCulture))
                : null);
    }

    [GeneratedRegex(@"^llama-aot: +eval: +(\d+) tokens in +([\d.]+) ms", RegexOptions.Multiline)]
    private static partial Regex EvalLine();

    [GeneratedRegex(@"^llama-aot: +sample: +(\d+) tokens in +([\d.]+) ms", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"^llama-aot: +grammar: +(\d+) tokens, (\d+) full-vocabulary passes \([\d.]+%\), ([\d.]+) ms per token", RegexOptions.Multiline)]
    private static partial Regex GrammarPerfLine();

    [GeneratedRegex(@"; stopped: (.+)$", RegexOptions.Multiline)]
    private static partial Regex StopLine();

    private static string Report(string binary, string model, string grammar, string[] common, int repetitions, List<Timings> free, List<Timings> constrained)
    {
        double freeRate = SideBySide.Median(free.Select(t => t.TokensPerSecond));
        double grammarRate = SideBySide.Median(constrained.Select(t => t.TokensPerSecond));
        double ratio = grammarRate / freeRate;
        int tokens = constrained.Sum(t => t.Grammar!.Tokens), passes = constrained.Sum(t => t.Grammar!.FullPasses);
        var sb = new StringBuilder();
        sb.AppendLine("# Generation with and without a grammar");
        sb.AppendLine();
        sb.AppendLine($"- date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm}");
        sb.AppendLine($"- CPU: {SideBySide.CpuName()} ({Environment.ProcessorCount} logical cores)");
        sb.AppendLine($"- llama-aot: {binary} ({SideBySide.Git("rev-parse --short HEAD")}); model: {Path.GetFileName(model)}; grammar: {Path.GetFileName(grammar)}");
        sb.AppendLine($"- flags of both: `{string.Join(' ', common.Skip(2).Select(Quote))}`, llama.cpp's default sampling; without the grammar also `--ignore-eos`");
        sb.AppendLine($"- method: generation rate = sampled tokens / (eval + sample time) from run's timing lines; medians of {repetitions} runs alternating, after one warm-up of each");
        sb.AppendLine();
        sb.AppendLine("| run | tokens | eval t/s | sample ms/token | grammar ms/token | full-vocabulary passes | generation ms | generation t/s (range) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        sb.AppendLine(Row("without grammar", free));
        sb.AppendLine(Row("with grammar", constrained));
        sb.AppendLine();
        sb.AppendLine($"with / without: **{SideBySide.F(ratio)}x** (issue 15's bound: at least {SideBySide.F(Bound)}x, {(ratio >= Bound ? "met" : "not met")}); " +
            $"{passes} of {tokens} tokens ({SideBySide.F(100.0 * passes / tokens, 1)}%) needed the full-vocabulary pass; " +
            $"stops with the grammar: {string.Join(", ", constrained.GroupBy(t => t.Stop).Select(g => $"{g.Key} x{g.Count()}"))}");
        return sb.ToString();
    }

    private static string Row(string name, List<Timings> runs)
    {
        string grammarColumns = runs[0].Grammar is null ? "| | |"
            : $"| {SideBySide.F(SideBySide.Median(runs.Select(t => t.Grammar!.MillisecondsPerToken)), 3)} | {SideBySide.F(SideBySide.Median(runs.Select(t => (double)t.Grammar!.FullPasses)), 0)} |";
        return $"| {name} | {SideBySide.F(SideBySide.Median(runs.Select(t => (double)t.Sampled)), 0)} " +
            $"| {SideBySide.F(SideBySide.Median(runs.Select(t => t.EvalTokensPerSecond)))} " +
            $"| {SideBySide.F(SideBySide.Median(runs.Select(t => t.SampleMillisecondsPerToken)), 3)} {grammarColumns} " +
            $"{SideBySide.F(SideBySide.Median(runs.Select(t => t.EvalMilliseconds + t.SampleMilliseconds)), 1)} " +
            $"| {SideBySide.F(SideBySide.Median(runs.Select(t => t.TokensPerSecond)))} ({SideBySide.F(runs.Min(t => t.TokensPerSecond))}-{SideBySide.F(runs.Max(t => t.TokensPerSecond))}) |";
    }

    private static string Quote(string arg) => arg.Length == 0 || arg.Contains(' ', StringComparison.Ordinal) ? $"\"{arg}\"" : arg;
}
