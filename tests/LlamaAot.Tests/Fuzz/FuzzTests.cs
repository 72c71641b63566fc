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
    public static TheoryData<string> Targets() => [.. FuzzTarget.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryCaseSucceedsOrFailsCleanly(string name)
    {
        var target = FuzzTarget.All.Single(t => t.Name == name);
        var run = new FuzzRun(name);
        using var work = new TempDir();
        string seedDir = Directory.CreateDirectory(Path.Combine(work.Path, "seed")).FullName;
        target.Prepare(seedDir);

        // The unmutated case must succeed: the target starts from inputs llama-aot accepts. Its peak memory is the
        // base of the bound for the mutated cases.
        string baseDir = Directory.CreateDirectory(Path.Combine(work.Path, "base")).FullName;
        string[] baseArgs = target.Make(seedDir, baseDir, null);
        var baseline = FuzzCase.Run(baseDir, baseArgs);
        Assert.True(baseline.ExitCode == 0 && !baseline.TimedOut, $"{name}: the unmutated case fails: exit {baseline.ExitCode}\n{baseline.Stderr}");

        var outcome = run.Run(Environment.ProcessorCount, i =>
        {
            string caseDir = Directory.CreateDirectory(Path.Combine(work.Path, i.ToString(CultureInfo.InvariantCulture))).FullName;
            string[] args = target.Make(seedDir, caseDir, run.CaseRandom(i));
            long inputs = Directory.EnumerateFiles(caseDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            var result = FuzzCase.Run(caseDir, args);
            string? fault = FuzzCase.Judge(result, baseline.PeakBytes + 2 * inputs + FuzzCase.MemoryBoundBytes);
            if (fault is not null)
                return Keep(run, i, caseDir, args, fault, result);
            Directory.Delete(caseDir, recursive: true);
            return null;
        });
        output.WriteLine(outcome.Summary);
        outcome.AssertPassed();
    }

    /// <summary>Keeps a failing case's files and a script that reruns it; returns its one-paragraph description.</summary>
    private static string Keep(FuzzRun run, int index, string caseDir, string[] args, string fault, FuzzCase.Outcome outcome)
    {
        string kept = run.KeptDirectory(index);
        Directory.Move(caseDir, kept);
        string command = string.Join(' ', args.Select(Quote));
        File.WriteAllText(Path.Combine(kept, "repro.sh"), $"#!/bin/sh\ncd \"$(dirname \"$0\")\" && exec \"${{LLAMA_AOT:-llama-aot}}\" {command}\n");
        return FuzzRun.Describe(index, fault, $"llama-aot {command}", kept, "stderr", outcome.Stderr);
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
}
