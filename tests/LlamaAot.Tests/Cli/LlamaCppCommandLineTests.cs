using System.Text.RegularExpressions;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// What a llama.cpp user types works as in llama.cpp 0.5.0: the model's training context by default, the seed in
/// use printed, <c>-fa on|off|auto</c>, <c>-ngl</c>, escapes in the prompt, and the values llama.cpp's parser takes.
/// stories260K was trained on a 128-token context.
/// </summary>
public partial class LlamaCppCommandLineTests
{
    private static readonly string Model = Shared.Stories260K("Q4_0");

    [Fact]
    public void ContextDefaultsToTheTrainingContextAndAFullContextSaysSo()
    {
        var r = LlamaAotProcess.Run("-m", Model, "-p", "Once upon a time", "-n", "-1", "--ignore-eos", "--temp", "0");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("llama-aot: context 128 tokens", r.Stderr);
        // BOS and the prompt's 4 tokens fill positions 0-4, 123 generated tokens positions 5-127, and one more is
        // sampled from the logits of the last position.
        Assert.Matches(@"sample: +124 tokens", r.Stderr);
        Assert.Single(Lines(r.Stderr), l => l.Contains("the context is full (128 tokens)"));
    }

    [Fact]
    public void ContextLongerThanTheTrainingContextIsWarnedAbout()
    {
        var r = LlamaAotProcess.Run("-m", Model, "-p", "hi", "-n", "1", "-c", "256");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Single(Lines(r.Stderr), l => l.Contains("warning") && l.Contains("256") && l.Contains("128"));
        var within = LlamaAotProcess.Run("-m", Model, "-p", "hi", "-n", "1", "-c", "128");
        Assert.DoesNotContain("warning", within.Stderr);
        var logits = LlamaAotProcess.Run("logits", "-m", Model, "-p", "hi", "-c", "256");
        Assert.True(logits.ExitCode == 0, logits.Stderr);
        Assert.Single(Lines(logits.Stderr), l => l.Contains("warning") && l.Contains("256") && l.Contains("128"));
    }

    [Fact]
    public void LogitsDefaultsToTheTrainingContext()
    {
        string prompt = string.Join(' ', Enumerable.Repeat("Once upon a time", 40));
        var r = LlamaAotProcess.Run("logits", "-m", Model, "-p", prompt);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("but the context holds 128", r.Stderr);
    }

    [Fact]
    public void PerplexityKeepsLlamaPerplexitysDefaultContext()
    {
        var r = LlamaAotProcess.Run("perplexity", "-m", Model, "-f", Path.Combine(Shared.Reference, "perplexity", "stories-a.txt"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("n_ctx=512", r.Stderr);
    }

    [Fact]
    public void TheSeedInUseIsPrintedAndRepeatsTheRun()
    {
        string[] args = ["-m", Model, "-p", "Lily", "-n", "24", "--temp", "1", "-c", "128"];
        var first = LlamaAotProcess.Run(args);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var seed = SeedLine().Match(first.Stderr);
        Assert.True(seed.Success, first.Stderr);
        var again = LlamaAotProcess.Run([.. args, "-s", seed.Groups[1].Value]);
        Assert.Equal(first.Stdout, again.Stdout);
        Assert.Contains($"sampler seed: {seed.Groups[1].Value}", again.Stderr);
    }

    [Fact]
    public void FlashAttentionTakesOnOffAuto()
    {
        string[] args = ["-m", Model, "-p", "Once upon a time", "-n", "24", "--temp", "0", "-c", "128"];
        var plain = LlamaAotProcess.Run(args);
        var bare = LlamaAotProcess.Run([.. args, "-fa"]);
        Assert.True(plain.ExitCode == 0 && bare.ExitCode == 0, plain.Stderr + bare.Stderr);
        Assert.DoesNotContain("flash attention", plain.Stderr);
        Assert.Contains(", flash attention,", bare.Stderr);
        foreach (var (value, same) in new[] { ("off", plain), ("auto", plain), ("on", bare), ("0", plain), ("1", bare) })
        {
            var r = LlamaAotProcess.Run([.. args, "--flash-attn", value]);
            Assert.True(r.ExitCode == 0, $"-fa {value}: {r.Stderr}");
            Assert.Equal(same.Stdout, r.Stdout);
            Assert.Equal(same == bare, r.Stderr.Contains(", flash attention,"));
        }
    }

    /// <summary>llama.cpp's -b (logical batch) and -ub (physical batch, 0 = as -b): a forward pass takes the smaller.</summary>
    [Theory]
    [InlineData(new[] { "-b", "2048", "-ub", "512" }, 512)]
    [InlineData(new[] { "-b", "64", "-ub", "0" }, 64)]
    [InlineData(new[] { "--batch-size", "16" }, 16)]
    [InlineData(new[] { "--ubatch-size", "32" }, 32)]
    public void BatchAndPhysicalBatchAreBothTaken(string[] flags, int batch)
    {
        var r = LlamaAotProcess.Run(["-m", Model, "-p", "Once upon a time", "-n", "1", "-c", "128", .. flags]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains($", batch {batch}\n", r.Stderr.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("-ngl", "99")]
    [InlineData("--n-gpu-layers", "0")]
    [InlineData("--gpu-layers", "all")]
    public void GpuLayersAreAcceptedWithANote(string flag, string value)
    {
        string[] args = ["-m", Model, "-p", "Once upon a time", "-n", "8", "--temp", "0", "-c", "128"];
        var plain = LlamaAotProcess.Run(args);
        var r = LlamaAotProcess.Run([.. args, flag, value]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(plain.Stdout, r.Stdout);
        Assert.Single(Lines(r.Stderr), l => l.Contains(flag) && l.Contains("CPU"));
    }

    [Theory]
    [InlineData(new string[0], "Once upon\na\ttime \"x\" 'y' \\ A\\q \\x4")]
    [InlineData(new[] { "-e" }, "Once upon\na\ttime \"x\" 'y' \\ A\\q \\x4")]
    [InlineData(new[] { "--escape", "--no-escape" }, @"Once upon\na\ttime \""x\"" \'y\' \\ \x41\q \x4")]
    [InlineData(new[] { "--no-escape", "--escape" }, "Once upon\na\ttime \"x\" 'y' \\ A\\q \\x4")]
    public void EscapesAreProcessedAsLlamaCppDoes(string[] flags, string expectedPrompt)
    {
        var r = LlamaAotProcess.Run(["-m", Model, "-p", @"Once upon\na\ttime \""x\"" \'y\' \\ \x41\q \x4", "-n", "0", "-c", "128", .. flags]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(expectedPrompt + "\n", r.Stdout);
    }

    [Fact]
    public void EscapesApplyToAPromptFileToo()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, @"one\ntwo" + "\n");
            var r = LlamaAotProcess.Run("-m", Model, "-f", file, "-n", "0", "-c", "128");
            Assert.Equal("one\ntwo\n", r.Stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// llama.cpp takes any top-p (1 or more: off; 0 or less: only the most likely token), any top-k (0 or less: off),
    /// any min-p, a negative temperature (greedy), -t 0 (every logical CPU) and a repeat window longer than the context.
    /// </summary>
    [Fact]
    public void ValuesLlamaCppTakesMeanWhatTheyMeanThere()
    {
        string[] args = ["-m", Model, "-p", "Lily", "-n", "24", "-c", "128", "-s", "7"];
        string Text(params string[] more)
        {
            var r = LlamaAotProcess.Run([.. args, .. more.Contains("--temp") ? [] : (string[])["--temp", "1"], .. more]);
            Assert.True(r.ExitCode == 0, $"{string.Join(' ', more)}: {r.Stderr}");
            return r.Stdout;
        }
        Assert.Equal(Text("--top-p", "1"), Text("--top-p", "2"));
        Assert.Equal(Text("--top-k", "0"), Text("--top-k", "-5"));
        Assert.Equal(Text("--min-p", "0"), Text("--min-p", "-1"));
        Assert.Equal(Text("--temp", "0"), Text("--top-p", "0"));
        Assert.Equal(Text("--temp", "0"), Text("--temp", "-1"));
        Assert.Equal(Text("--repeat-penalty", "1.3", "--repeat-last-n", "-1"), Text("--repeat-penalty", "1.3", "--repeat-last-n", "2147483647"));
        var all = LlamaAotProcess.Run([.. args, "-t", "0"]);
        Assert.Contains($"threads {Environment.ProcessorCount} ", all.Stderr);
    }

    [Fact]
    public void AHugeContextIsRefusedWithAPositiveSize()
    {
        var r = LlamaAotProcess.Run("-m", Model, "-p", "hi", "-c", "2147483647");
        Assert.Equal(1, r.ExitCode);
        string error = Assert.Single(Lines(r.Stderr), l => l.StartsWith("error: "));
        Assert.Contains("2147483647 tokens needs", error);
        Assert.DoesNotMatch(@"-\d", error);
    }

    private static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [GeneratedRegex(@"^llama-aot: sampler seed: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex SeedLine();
}
