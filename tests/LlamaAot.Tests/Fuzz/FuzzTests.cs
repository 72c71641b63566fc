using System.Globalization;
using System.Text;
using LlamaAot.Tests.Gguf;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// A seeded mutation test of every parser llama-aot has (each <see cref="FuzzTarget"/>), through the binary as a
/// user runs it. Time-boxed: <c>LLAMA_AOT_FUZZ_SECONDS</c> per target (default 3; set it to hours for a real fuzzing
/// run); <c>LLAMA_AOT_FUZZ_SEED</c> picks another sequence of cases. Case i of a seed is always the same input, so a
/// failure is reproduced from its seed and number alone; its files are kept, with a repro.sh, under
/// <c>$TMPDIR/llama-aot-fuzz/</c>.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int DefaultSeconds = 3;
    private const int KeptFailures = 5;

    public static TheoryData<string> Targets() => [.. FuzzTarget.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCaseSucceedsOrFailsCleanly(string name)
    {
        var target = FuzzTarget.All.Single(t => t.Name == name);
        int seed = EnvInt("LLAMA_AOT_FUZZ_SEED", 1);
        var budget = TimeSpan.FromSeconds(EnvInt("LLAMA_AOT_FUZZ_SECONDS", DefaultSeconds));
        using var work = new TempDir();
        string seedDir = Directory.CreateDirectory(Path.Combine(work.Path, "seed")).FullName;
        target.Prepare(seedDir);

        // The unmutated case must succeed: the target starts from inputs llama-aot accepts. Its peak memory is the
        // base of the bound for the mutated cases.
        string baseDir = Directory.CreateDirectory(Path.Combine(work.Path, "base")).FullName;
        string[] baseArgs = target.Make(seedDir, baseDir, null);
        var baseline = FuzzCase.Run(baseDir, baseArgs);
        Assert.True(baseline.ExitCode == 0 && !baseline.TimedOut, $"{name}: the unmutated case fails: exit {baseline.ExitCode}\n{baseline.Stderr}");

        var failures = new List<string>();
        int next = -1, cases = 0;
        (TimeSpan Time, int Index) slowest = default;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        object gate = new();
        Parallel.For(0, Environment.ProcessorCount, _ =>
        {
            while (clock.Elapsed < budget)
            {
                int i = Interlocked.Increment(ref next);
                string caseDir = Directory.CreateDirectory(Path.Combine(work.Path, i.ToString(CultureInfo.InvariantCulture))).FullName;
                string[] args = target.Make(seedDir, caseDir, new Random(unchecked(seed * 1_000_003 + i)));
                long inputs = Directory.EnumerateFiles(caseDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
                long started = System.Diagnostics.Stopwatch.GetTimestamp();
                var outcome = FuzzCase.Run(caseDir, args);
                var time = System.Diagnostics.Stopwatch.GetElapsedTime(started);
                string? fault = FuzzCase.Judge(outcome, baseline.PeakBytes + 2 * inputs + FuzzCase.MemoryBoundBytes);
                lock (gate)
                {
                    cases++;
                    if (time > slowest.Time)
                        slowest = (time, i);
                    if (fault is not null)
                        failures.Add(Keep(name, seed, i, caseDir, args, fault, outcome));
                }
                if (fault is null)
                    Directory.Delete(caseDir, recursive: true);
            }
        });
        output.WriteLine($"{name}: {cases} cases in {clock.Elapsed.TotalSeconds:0} s (seed {seed}), {failures.Count} failed; the slowest, case {slowest.Index}, took {slowest.Time.TotalSeconds:0.0} s");
        Assert.True(cases > 0, $"{name}: no case ran in {budget.TotalSeconds} s");
        Assert.True(failures.Count == 0,
            $"{name}: {failures.Count} of {cases} cases (seed {seed}) failed; the first:\n{string.Join("\n", failures.Order(StringComparer.Ordinal).Take(KeptFailures))}");
    }

    /// <summary>Keeps a failing case's files and a script that reruns it; returns its one-paragraph description.</summary>
    private static string Keep(string target, int seed, int index, string caseDir, string[] args, string fault, FuzzCase.Outcome outcome)
    {
        string kept = Path.Combine(Path.GetTempPath(), "llama-aot-fuzz", target, $"seed{seed}-case{index}");
        if (Directory.Exists(kept))
            Directory.Delete(kept, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(kept)!);
        Directory.Move(caseDir, kept);
        string command = string.Join(' ', args.Select(Quote));
        File.WriteAllText(Path.Combine(kept, "repro.sh"), $"#!/bin/sh\ncd \"$(dirname \"$0\")\" && exec \"${{LLAMA_AOT:-llama-aot}}\" {command}\n");
        string stderr = outcome.Stderr.Length > 600 ? outcome.Stderr[..600] + "..." : outcome.Stderr;
        return $"case {index}: {fault}\n  llama-aot {(command.Length > 300 ? command[..300] + "..." : command)}\n  kept in {kept}\n  stderr: {stderr.Trim().Replace("\n", "\n          ")}";
    }

    private static string Quote(string a)
    {
        if (a.Length > 0 && a.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+".Contains(c)))
            return a;
        var s = new StringBuilder("'");
        foreach (char c in a)
            s.Append(c == '\'' ? "'\\''" : c.ToString());
        return s.Append('\'').ToString();
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;
}
