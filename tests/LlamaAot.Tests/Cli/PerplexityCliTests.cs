using System.Globalization;
using System.Text.RegularExpressions;
using LlamaAot.Tests.Model;

namespace LlamaAot.Tests.Cli;

/// <summary><c>llama-aot perplexity</c> end to end: llama-perplexity's output lines, and its error for a short text.</summary>
public partial class PerplexityCliTests
{
    [Fact]
    public void PrintsRunningValuesAndTheFinalEstimate()
    {
        var r = LlamaAotProcess.Run("perplexity", "-m", Shared.Stories260K("Q4_0"), "-f", PerplexityReference.TextPath, "-c", "128", "-b", "128", "-t", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);

        // [1]4.4358,[2]4.4816,...,[29]5.5525, as llama-perplexity prints them (the running estimate after each chunk).
        var running = RunningValue().Matches(lines[0]);
        Assert.Equal(29, running.Count);
        Assert.Equal(lines[0], string.Concat(running.Select(m => m.Value)));
        Assert.Equal(Enumerable.Range(1, 29).Select(i => i.ToString(CultureInfo.InvariantCulture)), running.Select(m => m.Groups[1].Value));

        var final = FinalEstimate().Match(lines[1]);
        Assert.True(final.Success, lines[1]);
        double ppl = double.Parse(final.Groups[1].Value, CultureInfo.InvariantCulture);
        double error = double.Parse(final.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.Equal(running[^1].Groups[2].Value, final.Groups[1].Value);
        var reference = PerplexityReference.Load("stories260K", "Q4_0");
        Assert.True(Math.Abs(ppl / reference.Ppl - 1) < 1e-3, $"PPL {ppl}, llama.cpp {reference.Ppl}");
        Assert.True(Math.Abs(error / reference.PplError - 1) < 4e-3, $"error {error}, llama.cpp {reference.PplError}");
        Assert.Contains("29 chunks", r.Stderr);
    }

    [Fact]
    public void TextTooShortForTwoChunksIsAClearError()
    {
        var r = LlamaAotProcess.Run("perplexity", "-m", Shared.Stories260K("Q4_0"), "-f", PerplexityReference.TextPath, "-c", "2048");
        Assert.True(r.ExitCode == 1, $"exit code {r.ExitCode}; stderr: {r.Stderr}");
        Assert.Equal("", r.Stdout);
        var errors = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("llama-aot: ")).ToArray();
        var line = Assert.Single(errors);
        Assert.StartsWith("error: you need at least 4096 tokens to evaluate perplexity with a context of 2048", line);
        Assert.Contains("only 3760 tokens", line);
    }

    [GeneratedRegex(@"\[(\d+)\](\d+\.\d{4}),")]
    private static partial Regex RunningValue();

    [GeneratedRegex(@"^Final estimate: PPL = (\d+\.\d{4}) \+/- (\d+\.\d{5})$")]
    private static partial Regex FinalEstimate();
}
