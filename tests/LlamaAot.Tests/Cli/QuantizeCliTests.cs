using LlamaAot.Gguf;
using LlamaAot.Tests.Quantize;

namespace LlamaAot.Tests.Cli;

/// <summary><c>llama-aot quantize</c> end to end: llama.cpp's bytes, the summary, and one clear line per error.</summary>
public class QuantizeCliTests
{
    [Fact]
    public void QuantizesAndPrintsASummary()
    {
        string output = TempFile.Path("cli-q4km");
        try
        {
            var r = LlamaAotProcess.Run("quantize", QuantizeReferenceTests.Reference("random-e256", "F32"), output, "q4_k", "-t", "2");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal("", r.Stdout);
            GgufComparison.AssertSameFileBytes(QuantizeReferenceTests.Reference("random-e256", "Q4_K_M"), output);
            // Redirected standard error: no per-tensor progress, but always the summary.
            Assert.DoesNotContain("blk.0.attn_q.weight", r.Stderr);
            Assert.Contains("model size: 7.00 MiB (32.00 bits per weight)", r.Stderr);
            Assert.Contains("quant size:", r.Stderr);
            Assert.Contains("bits per weight", r.Stderr);
            Assert.Contains("16 of 21 tensors converted in", r.Stderr);
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void StoriesFallbacksAreReported()
    {
        string output = TempFile.Path("cli-stories-q8");
        try
        {
            var r = LlamaAotProcess.Run("quantize", Shared.Stories260K("F32"), output, "Q8_0", "--pure");
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("warning: 5 of 48 tensors used a fallback type", r.Stderr);
            using var expected = GgufFile.Open(Shared.Stories260K("Q8_0"));
            using var actual = GgufFile.Open(output);
            GgufComparison.AssertSameTensors(expected, actual); // output.weight is Q8_0 with or without --pure
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void UnknownTypeIsAUsageError()
    {
        var r = LlamaAotProcess.Run("quantize", Shared.Stories260K("F32"), TempFile.Path("cli-unknown"), "Q4_K_X");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error: unknown quantization type 'Q4_K_X'; choose one of", r.Stderr);
        Assert.Contains("Q4_K_M", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.False(File.Exists(TempFile.Path("cli-unknown")));
    }

    [Fact]
    public void UnknownTensorTypeIsAUsageError()
    {
        var r = LlamaAotProcess.Run("quantize", Shared.Stories260K("F32"), TempFile.Path("cli-unknown-t"), "Q8_0", "--output-tensor-type", "q9_9");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error: unknown tensor type 'q9_9' for --output-tensor-type", r.Stderr);
    }

    [Fact]
    public void MissingInputIsOneClearLine()
    {
        string missing = Path.Combine(Path.GetTempPath(), "llama-aot-no-such-model.gguf");
        var r = LlamaAotProcess.Run("quantize", missing, TempFile.Path("cli-missing"), "Q4_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: file not found: {missing}", r.Stderr.Trim());
    }

    [Fact]
    public void UnwritableOutputIsOneClearLine()
    {
        string output = Path.Combine(Path.GetTempPath(), "llama-aot-no-such-dir", "out.gguf");
        var r = LlamaAotProcess.Run("quantize", Shared.Stories260K("F32"), output, "Q4_0");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"error: cannot write {output}:", r.Stderr.Trim());
        Assert.Single(r.Stderr.Trim().Split('\n'));

        // A directory in the output's place.
        var d = LlamaAotProcess.Run("quantize", Shared.Stories260K("F32"), Path.GetTempPath(), "Q4_0");
        Assert.Equal(1, d.ExitCode);
        Assert.StartsWith($"error: cannot write {Path.GetTempPath()}:", d.Stderr.Trim());
    }

    [Fact]
    public void QuantizedInputNeedsAllowRequantize()
    {
        var r = LlamaAotProcess.Run("quantize", Shared.Stories260K("Q8_0"), TempFile.Path("cli-requant"), "Q4_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--allow-requantize", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}
