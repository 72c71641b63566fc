using LlamaAot.Tests.Cli;

namespace LlamaAot.Tests.Conversion;

/// <summary><c>llama-aot convert</c> end to end, with the binary a user runs (LLAMA_AOT_BINARY when published).</summary>
public class ConvertCliTests
{
    [Fact]
    public void Llama2cCheckpointConvertsAndGeneratesLlamaCppsText()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File("stories260K.gguf");
        var convert = LlamaAotProcess.Run("convert", ConvertFixture.Stories260KBin, output, "--vocab", ConvertFixture.Tok512);
        Assert.True(convert.ExitCode == 0, convert.Stderr);
        Assert.Equal("", convert.Stdout);
        Assert.Contains("converted llama2.c checkpoint", convert.Stderr);

        var run = LlamaAotProcess.Run("-m", output, "-p", "Once upon a time", "-n", "64", "--temp", "0", "-t", "1", "-c", "128");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(ConvertFixture.ReferenceText("F32"), run.Stdout.Trim());
    }

    [Fact]
    public void HuggingFaceDirectoryConvertsWithOutType()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = dir.File("out.gguf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "BF16", shards: 2);
        var convert = LlamaAotProcess.Run("convert", hf, output, "--outtype", "f16");
        Assert.True(convert.ExitCode == 0, convert.Stderr);
        using var gguf = LlamaAot.Gguf.GgufFile.Open(output);
        Assert.Equal(LlamaAot.Gguf.GgmlType.F16, gguf.FindTensor("blk.0.attn_q.weight")!.Type);
    }

    public static TheoryData<string[], string> Errors() => new()
    {
        { ["convert", "stories260K/stories260K.bin", "OUT"], "error: stories260K/stories260K.bin is not a GGML file or a model directory, so it is read as a llama2.c checkpoint, which has no vocabulary: give its tokenizer with --vocab tokenizer.bin" },
        { ["convert", "stories260K/no-such.bin", "OUT", "--vocab", "stories260K/tok512.bin"], "error: file not found: stories260K/no-such.bin" },
        { ["convert", "stories260K/stories260K-F32.gguf", "OUT"], "error: cannot convert: stories260K/stories260K-F32.gguf is already a GGUF file: nothing to convert" },
        { ["convert", "stories260K/tok512.bin", "OUT", "--vocab", "stories260K/tok512.bin"], "error: cannot convert: stories260K/tok512.bin: not a llama2.c checkpoint: its header" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void ErrorsAreOneClearLine(string[] args, string expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File("out.gguf");
        // Run from ../shared/models so the messages carry short relative paths.
        var r = LlamaAotProcess.Run([.. args.Select(a => a == "OUT" ? output : a.StartsWith("stories260K", StringComparison.Ordinal) ? Path.Combine("models", a) : a)]);
        Assert.Equal(1, r.ExitCode);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(expected.Replace("stories260K/", "models/stories260K/"), line);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void UnknownOutTypeIsAUsageError()
    {
        var r = LlamaAotProcess.Run("convert", "a", "b", "--outtype", "q4_0");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error:", r.Stderr);
        Assert.Contains("q4_0", r.Stderr);
    }
}
