using System.Text.Json;
using LlamaAot.Tests.Model;

namespace LlamaAot.Tests.Cli;

/// <summary>The command line end to end: llama-cli's greedy text, the logits command, and clear errors.</summary>
public class CliTests
{
    public static TheoryData<string, int> GenerationCases()
    {
        var data = new TheoryData<string, int>();
        foreach (string type in new[] { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "IQ4_NL", "IQ4_XS", "Q2_K", "Q3_K_M", "Q6_K" })
        {
            data.Add(type, 1);
            data.Add(type, 2);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(GenerationCases))]
    [Trait("Category", "Golden")]
    public void PrintsLlamaCliText(string type, int threads)
    {
        var r = LlamaAotProcess.Run("-m", Shared.Stories260K(type), "-p", "Once upon a time", "-n", "64", "--temp", "0", "-t", threads.ToString(), "-c", "128");
        Assert.True(r.ExitCode == 0, r.Stderr);
        string expected = File.ReadAllText(Path.Combine(Shared.Reference, "stories260K", "llama-cli", $"stories260K-{type}.t{threads}.txt"));
        Assert.Equal(expected.Trim(), r.Stdout.Trim());
        Assert.Contains("prompt eval:", r.Stderr);
        Assert.Contains("tokens/s", r.Stderr);
    }

    [Fact]
    public void RunSubcommandAndPromptFileWork()
    {
        string prompt = Path.GetTempFileName();
        try
        {
            File.WriteAllText(prompt, "Once upon a time\n");
            var r = LlamaAotProcess.Run("run", "-m", Shared.Stories260K("Q8_0"), "-f", prompt, "-n", "64", "--temp", "0", "-c", "128");
            Assert.True(r.ExitCode == 0, r.Stderr);
            string expected = File.ReadAllText(Path.Combine(Shared.Reference, "stories260K", "llama-cli", "stories260K-Q8_0.t1.txt"));
            Assert.Equal(expected.Trim(), r.Stdout.Trim());
        }
        finally
        {
            File.Delete(prompt);
        }
    }

    [Fact]
    public void SameSeedGivesTheSameText()
    {
        string[] args = ["-m", Shared.Stories260K("Q4_0"), "-p", "Lily", "-n", "40", "-s", "1234", "--temp", "1.0", "-c", "128"];
        var a = LlamaAotProcess.Run(args);
        var b = LlamaAotProcess.Run(args);
        var c = LlamaAotProcess.Run([.. args[..^5], "4321", .. args[^4..]]);
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(a.Stdout, b.Stdout);
        Assert.NotEqual(a.Stdout, c.Stdout);
    }

    [Fact]
    public void LogitsCommandWritesTheReferenceShape()
    {
        var reference = ReferenceCase.Load(ReferenceCase.Stories260KPath("F32", "once-upon-a-time", kvF32: true));
        var r = LlamaAotProcess.Run("logits", "-m", Shared.Stories260K("F32"), "-p", reference.Prompt, "-ctk", "f32", "-ctv", "f32");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var tokens = doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(reference.Tokens, tokens);
        var logits = doc.RootElement.GetProperty("logits").EnumerateArray().ToArray();
        Assert.Equal(reference.Tokens.Length, logits.Length);
        for (int t = 0; t < logits.Length; t++)
        {
            var row = logits[t].EnumerateArray().Select(e => e.GetSingle()).ToArray();
            Assert.Equal(512, row.Length);
            for (int i = 0; i < row.Length; i++)
                Assert.True(Math.Abs(row[i] - reference.Logits[t][i]) < 1e-3, $"position {t} logit {i}");
        }
    }

    [Fact]
    public void LogitsCommandWritesAFile()
    {
        string output = Path.Combine(Path.GetTempPath(), $"llama-aot-logits-{Guid.NewGuid():N}.json");
        try
        {
            var r = LlamaAotProcess.Run("logits", "-m", Shared.Stories260K("Q4_0"), "-p", "Lily", "-o", output);
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var doc = JsonDocument.Parse(File.ReadAllBytes(output));
            Assert.Equal(1, doc.RootElement.GetProperty("tokens")[0].GetInt32());
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void BenchPrintsLlamaBenchTable()
    {
        var r = LlamaAotProcess.Run("bench", "-m", Shared.Stories260K("Q4_0"), "-p", "16", "-n", "8", "-t", "1,2", "-r", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("| model", lines[0]);
        var rows = lines.Skip(2).ToArray();
        Assert.Equal(4, rows.Length);
        Assert.Matches(@"^\| llama 293K Q4_0 +\| +0\.25 MiB \| +292\.80 K \| CPU +\| +1 \| +pp16 \| +[\d.]+ ± [\d.]+ \|$", rows[0]);
        Assert.Contains("|       2 |           tg8 |", rows[3]);
    }

    [Fact]
    public void BenchWritesJson()
    {
        var r = LlamaAotProcess.Run("bench", "-m", Shared.Stories260K("Q8_0"), "-p", "0", "-n", "4", "-t", "1", "-r", "3", "-o", "json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        var test = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal(4, test.GetProperty("n_gen").GetInt32());
        Assert.Equal(3, test.GetProperty("samples_ts").GetArrayLength());
        Assert.True(test.GetProperty("avg_ts").GetDouble() > 0);
    }

    [Fact]
    public void VersionAndHelp()
    {
        var version = LlamaAotProcess.Run("--version");
        Assert.Equal(0, version.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", version.Stdout.Trim());
        var help = LlamaAotProcess.Run("--help");
        Assert.Equal(0, help.ExitCode);
        foreach (string flag in new[] { "-m", "-p", "-f", "-n", "-t", "-c", "-s", "--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n", "--ignore-eos", "-ctk", "-ctv", "--verbose", "logits" })
            Assert.Contains(flag, help.Stdout);
    }

    [Fact]
    public void VerboseNamesTheKernelOfEveryTensor()
    {
        var r = LlamaAotProcess.Run("-m", Shared.Stories260K("Q4_0"), "-p", "Lily", "-n", "1", "--verbose", "-c", "128");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("kernel blk.0.attn_q.weight Q4_0 K=64: Gemv_Q4_0xQ8_0", r.Stderr);
        Assert.Contains("<K64> (specialized)", r.Stderr);
        Assert.Contains("kernel blk.0.ffn_down.weight F16 K=172", r.Stderr);
        Assert.Contains("(generic)", r.Stderr);
    }

    public static TheoryData<string[], int, string> BadInvocations() => new()
    {
        { ["-m", "/no/such/model.gguf", "-p", "hi"], 1, "not found" },
        { ["-p", "hi"], 2, "--model" },
        { ["-m", "x.gguf", "--bogus"], 2, "--bogus" },
        { ["-m", "x.gguf", "-ctk", "q9"], 2, "q9" },
        { ["-m", "x.gguf", "-t", "513"], 2, "up to 512" },
        { ["-m", "x.gguf", "-n", "abc"], 2, "abc" },
        { ["-m", "x.gguf", "-p", "a", "-f", "b.txt"], 2, "not both" },
        { ["-m", "x.gguf", "-f", "/no/such/prompt.txt"], 1, "not found" },
        { ["bench", "-m", "x.gguf", "-t", "1,x"], 2, "comma-separated" },
        { ["bench", "-m", "x.gguf", "-o", "csv"], 2, "csv" },
    };

    [Theory]
    [MemberData(nameof(BadInvocations))]
    public void BadInvocationsGetOneClearLine(string[] args, int exitCode, string mention)
    {
        // Replace the placeholder model with a real one where the failure is meant to come from elsewhere.
        args = args.Select(a => a == "x.gguf" ? Shared.Stories260K("Q4_0") : a).ToArray();
        var r = LlamaAotProcess.Run(args);
        AssertOneLineError(r, exitCode, mention);
    }

    [Fact]
    public void PromptLongerThanTheContextIsAClearError()
    {
        string prompt = string.Join(' ', Enumerable.Repeat("Once upon a time", 20));
        var r = LlamaAotProcess.Run("-m", Shared.Stories260K("Q4_0"), "-p", prompt, "-c", "16");
        AssertOneLineError(r, 1, "tokens but the context holds 16");
    }

    [Fact]
    public void MalformedModelIsAClearError()
    {
        string path = Path.GetTempFileName();
        try
        {
            byte[] bytes = File.ReadAllBytes(Shared.Stories260K("Q4_0"));
            File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
            var truncated = LlamaAotProcess.Run("-m", path, "-p", "hi");
            AssertOneLineError(truncated, 1, "truncated");

            File.WriteAllBytes(path, "not a model at all"u8.ToArray());
            var garbage = LlamaAotProcess.Run("-m", path, "-p", "hi");
            AssertOneLineError(garbage, 1, "not a GGUF file");
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The portable x86-64-v3 build (LLAMA_AOT_BINARY_V3, published by test.sh) runs its AVX2 kernels and prints
    /// llama.cpp's text. Without that build, the default binary is forced onto its AVX2 kernels instead.
    /// </summary>
    [Fact]
    public void Avx2BuildPrintsTheSameText()
    {
        string? v3 = Environment.GetEnvironmentVariable("LLAMA_AOT_BINARY_V3");
        string[] args = ["-m", Shared.Stories260K("Q4_0"), "-p", "Once upon a time", "-n", "64", "--temp", "0", "-c", "128"];
        var r = string.IsNullOrEmpty(v3)
            ? LlamaAotProcess.Run(args, new Dictionary<string, string> { ["LLAMA_AOT_ISA"] = "avx2" })
            : LlamaAotProcess.RunBinary(v3, args);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("kernels avx2", r.Stderr);
        string expected = File.ReadAllText(Path.Combine(Shared.Reference, "stories260K", "llama-cli", "stories260K-Q4_0.t1.txt"));
        Assert.Equal(expected.Trim(), r.Stdout.Trim());
    }

    [Fact]
    public void ForcedInstructionSetIsHonouredOrRefusedClearly()
    {
        var portable = LlamaAotProcess.Run(["-m", Shared.Stories260K("Q4_0"), "-p", "Once upon a time", "-n", "64", "--temp", "0", "-c", "128"],
            new Dictionary<string, string> { ["LLAMA_AOT_ISA"] = "portable" });
        Assert.True(portable.ExitCode == 0, portable.Stderr);
        Assert.Contains("kernels portable", portable.Stderr);
        string expected = File.ReadAllText(Path.Combine(Shared.Reference, "stories260K", "llama-cli", "stories260K-Q4_0.t1.txt"));
        Assert.Equal(expected.Trim(), portable.Stdout.Trim());

        var bad = LlamaAotProcess.Run(["-m", Shared.Stories260K("Q4_0"), "-p", "hi"], new Dictionary<string, string> { ["LLAMA_AOT_ISA"] = "sse9" });
        AssertOneLineError(bad, 1, "LLAMA_AOT_ISA");
    }

    private static void AssertOneLineError(LlamaAotProcess.Result r, int exitCode, string mention)
    {
        Assert.True(r.ExitCode == exitCode, $"exit code {r.ExitCode}, expected {exitCode}; stderr: {r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("llama-aot: ")).ToArray();
        Assert.True(lines.Length == 1, $"expected one error line, got: {r.Stderr}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(mention, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
