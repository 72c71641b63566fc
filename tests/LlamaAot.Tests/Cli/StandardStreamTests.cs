namespace LlamaAot.Tests.Cli;

/// <summary>
/// Standard streams that cannot be written. Standard error carries only diagnostics: when it is closed or full, a run
/// still does its work and succeeds. Standard output carries the result: when it cannot be written, the run fails
/// with a readable error.
/// </summary>
public class StandardStreamTests
{
    private static readonly string[] Generate = ["-m", Shared.Stories260K("Q4_0"), "-p", "Once upon a time", "-n", "16", "--temp", "0", "-c", "128"];

    [Theory]
    [InlineData("2>&-")]
    [InlineData("2>/dev/full")]
    public void UnwritableStandardErrorDoesNotStopARun(string redirection)
    {
        var expected = LlamaAotProcess.Run(Generate);
        Assert.True(expected.ExitCode == 0, expected.Stderr);
        var r = LlamaAotProcess.RunRedirected(redirection, Generate);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(expected.Stdout, r.Stdout);
    }

    [Theory]
    [InlineData("2>&-")]
    [InlineData("2>/dev/full")]
    public void UnwritableStandardErrorDoesNotChangeAFailure(string redirection)
    {
        var r = LlamaAotProcess.RunRedirected(redirection, "-m", "/nonexistent/model.gguf", "-p", "hi");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData(">&-", "closed")]
    [InlineData(">/dev/full", "No space left on device")]
    public void UnwritableStandardOutputIsAReadableError(string redirection, string reason)
    {
        var r = LlamaAotProcess.RunRedirected(redirection, Generate);
        Assert.Equal(1, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("llama-aot: ")).ToArray();
        Assert.True(lines.Length == 1, r.Stderr);
        Assert.StartsWith("error: cannot write to standard output", lines[0]);
        Assert.Contains(reason, lines[0]);
        Assert.DoesNotContain("UnauthorizedAccess", r.Stderr);
    }
}
