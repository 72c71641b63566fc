using System.Diagnostics;
using System.Text.Json.Nodes;
using LlamaAot.Tests.Cli;

namespace LlamaAot.Server.Tests;

/// <summary>
/// <c>llama-aot serve</c> as a user runs it: the published NativeAOT binary when test.sh made one (LLAMA_AOT_BINARY),
/// else the JIT build. Its greedy completion equals <c>llama-aot run</c>'s text for the same prompt; SIGTERM stops it
/// with exit code 0; bad command lines are one error line.
/// </summary>
public sealed class ServeCliTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact(Timeout = 120_000)]
    public async Task TheBinaryServesWhatRunGeneratesAndStopsOnSigterm()
    {
        var run = LlamaAotProcess.Run("run", "-m", TestServer.ModelPath, "-p", "Once upon a time", "-n", "24", "--temp", "0", "-t", "1");
        Assert.Equal(0, run.ExitCode);
        string expected = run.Stdout.TrimEnd('\n')["Once upon a time".Length..];

        using var serve = await ServeProcess.StartAsync(TestServer.Timeout, "-m", TestServer.ModelPath, "-np", "2", "-c", "1024", "-t", "1");
        using var http = new HttpClient { BaseAddress = serve.Address, Timeout = TestServer.Timeout };
        using var timeout = new CancellationTokenSource(TestServer.Timeout);
        using var response = await http.PostAsync("/v1/completions",
            new StringContent("""{"prompt": "Once upon a time", "max_tokens": 24, "temperature": 0}"""), timeout.Token);
        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token))!;
        Assert.Equal(expected, (string)answer["choices"]![0]!["text"]!);

        Process.Start("kill", ["-TERM", serve.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        await serve.Process.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, serve.Process.ExitCode);
    }

    /// <summary>
    /// 500 sequential requests (chat and completions, streamed and not) leave the server's resident memory flat: after
    /// a warm-up of 250 (the heap grows to its working size), the next 250 add less than 8 MiB (the AOT binary measured
    /// 0 from 500 to 1,500 requests; a leak of 32 KiB per request would fail). The numbers are printed for the closing note.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task FiveHundredSequentialRequestsLeaveResidentMemoryFlat()
    {
        using var serve = await ServeProcess.StartAsync(TestServer.Timeout, "-m", TestServer.ModelPath, "-np", "2", "-c", "1024", "-t", "1");
        using var http = new HttpClient { BaseAddress = serve.Address, Timeout = TestServer.Timeout };
        using var timeout = new CancellationTokenSource(TestServer.Timeout * 2);
        string[] bodies =
        [
            """{"prompt": "Once upon a time", "max_tokens": 8}""",
            """{"prompt": "Once upon a time", "max_tokens": 8, "stream": true}""",
        ];
        long warm = 0;
        for (int i = 0; i < 500; i++)
        {
            string path = i % 4 < 2 ? "/v1/completions" : "/v1/chat/completions";
            string body = path == "/v1/completions" ? bodies[i % 2] : bodies[i % 2].Replace("\"prompt\": \"Once upon a time\"", $"\"messages\": [{{\"role\": \"user\", \"content\": \"Story {i}\"}}]");
            using var response = await http.PostAsync(path, new StringContent(body), timeout.Token);
            Assert.Equal(200, (int)response.StatusCode);
            await response.Content.ReadAsStringAsync(timeout.Token);
            if (i == 249)
                warm = serve.ResidentBytes();
        }
        long after = serve.ResidentBytes();
        output.WriteLine($"llama-aot serve resident memory: {warm / 1024} KiB after 250 requests, {after / 1024} KiB after 500");
        Assert.True(after - warm < 8L << 20, $"resident memory grew from {warm / 1024} KiB to {after / 1024} KiB over 250 requests");
    }

    [Theory]
    [InlineData(2, "serve", "--port", "8080")] // no model
    [InlineData(2, "serve", "-m", "x.gguf", "--port", "70000")]
    [InlineData(2, "serve", "-m", "x.gguf", "-np", "0")]
    [InlineData(2, "serve", "-m", "x.gguf", "--host", "example.com")]
    [InlineData(2, "serve", "-m", "x.gguf", "-c", "4", "-np", "8")]
    [InlineData(1, "serve", "-m", "models/missing.gguf", "--port", "0")]
    public void ABadCommandLineIsOneErrorLine(int exitCode, params string[] args)
    {
        var result = LlamaAotProcess.Run(args);
        Assert.Equal(exitCode, result.ExitCode);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
    }

    /// <summary>A file that is not a model: the server has started listening, then says why it stops, exit 1.</summary>
    [Fact] // LlamaAotProcess.Run gives up after 2 minutes
    public void AModelThatDoesNotLoadEndsTheServerWithOneErrorLine()
    {
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-not-a-model-{Environment.ProcessId}.gguf");
        File.WriteAllText(path, "# not a model\n");
        try
        {
            var result = LlamaAotProcess.Run("serve", "-m", path, "--port", "0");
            Assert.Equal(1, result.ExitCode);
            string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("llama-aot: listening on http://127.0.0.1:", lines[0]);
            Assert.StartsWith("error: cannot load the model: not a GGUF file", lines[^1]);
            Assert.Single(lines, l => l.StartsWith("error:", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
