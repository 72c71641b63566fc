using System.Diagnostics;
using System.Globalization;

namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// What every fuzz test shares: the seed and time budget from the environment (<c>LLAMA_AOT_FUZZ_SEED</c>, default 1;
/// <c>LLAMA_AOT_FUZZ_SECONDS</c>, default 3), case i's random generator (case i of a seed is always the same input),
/// the loop that runs cases from several workers until the budget is spent, the directory that keeps a failing case
/// (<c>$TMPDIR/llama-aot-fuzz/TARGET/seedS-caseI/</c>), and the verdict, which quotes the first few failures.
/// </summary>
internal sealed class FuzzRun(string target)
{
    private const int DefaultSeconds = 3;
    private const int ReportedFailures = 5;

    public string Target { get; } = target;

    public int Seed { get; } = EnvInt("LLAMA_AOT_FUZZ_SEED", 1);

    public TimeSpan Budget { get; } = TimeSpan.FromSeconds(EnvInt("LLAMA_AOT_FUZZ_SECONDS", DefaultSeconds));

    /// <summary>The random generator of case <paramref name="index"/>: the same sequence for the same seed and index.</summary>
    public Random CaseRandom(int index) => new(unchecked(Seed * 1_000_003 + index));

    /// <summary>
    /// Runs cases 0, 1, 2, ... from <paramref name="workers"/> workers until the budget is spent;
    /// <paramref name="runCase"/> runs one and returns its failure's description (<see cref="Describe"/>), or null.
    /// </summary>
    public Outcome Run(int workers, Func<int, string?> runCase)
    {
        var failures = new List<(int Index, string Description)>();
        int next = -1, cases = 0;
        (TimeSpan Time, int Index) slowest = default;
        var clock = Stopwatch.StartNew();
        object gate = new();
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, _ =>
        {
            while (clock.Elapsed < Budget)
            {
                int i = Interlocked.Increment(ref next);
                long started = Stopwatch.GetTimestamp();
                string? failure = runCase(i);
                var time = Stopwatch.GetElapsedTime(started);
                lock (gate)
                {
                    cases++;
                    if (time > slowest.Time)
                        slowest = (time, i);
                    if (failure is not null)
                        failures.Add((i, failure));
                }
            }
        });
        return new Outcome(this, cases, clock.Elapsed, [.. failures.OrderBy(f => f.Index).Select(f => f.Description)], slowest.Index, slowest.Time);
    }

    /// <summary>Where case <paramref name="index"/> is kept when it fails: any older copy removed, its parent created.</summary>
    public string KeptDirectory(int index)
    {
        string kept = Path.Combine(Path.GetTempPath(), "llama-aot-fuzz", Target, $"seed{Seed}-case{index}");
        if (Directory.Exists(kept))
            Directory.Delete(kept, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
        return kept;
    }

    /// <summary>A failing case's paragraph in the verdict: what is wrong, what ran, where it is kept, what came back.</summary>
    public static string Describe(int index, string fault, string input, string kept, string outputName, string output)
    {
        string indent = "\n" + new string(' ', outputName.Length + 4);
        return $"case {index}: {fault}\n  {Cut(input, 300)}\n  kept in {kept}\n  {outputName}: {Cut(output, 600).Trim().Replace("\n", indent)}";
    }

    private static string Cut(string text, int length) => text.Length > length ? text[..length] + "..." : text;

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;

    /// <summary>How a run went: the cases run, the failures' descriptions (in case order), and the slowest case.</summary>
    public sealed record Outcome(FuzzRun Run, int Cases, TimeSpan Elapsed, IReadOnlyList<string> Failures, int SlowestIndex, TimeSpan SlowestTime)
    {
        /// <summary>The line a test prints: its case count is what a longer run is judged by.</summary>
        public string Summary =>
            $"{Run.Target}: {Cases} cases in {Elapsed.TotalSeconds:0} s (seed {Run.Seed}), {Failures.Count} failed; the slowest, case {SlowestIndex}, took {SlowestTime.TotalSeconds:0.0} s";

        public void AssertPassed()
        {
            Assert.True(Cases > 0, $"{Run.Target}: no case ran in {Run.Budget.TotalSeconds} s");
            Assert.True(Failures.Count == 0,
                $"{Run.Target}: {Failures.Count} of {Cases} cases (seed {Run.Seed}) failed; the first:\n{string.Join("\n", Failures.Take(ReportedFailures))}");
        }
    }
}
