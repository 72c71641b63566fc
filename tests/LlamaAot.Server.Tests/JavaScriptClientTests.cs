using System.Diagnostics;
using System.Text.Json.Nodes;

namespace LlamaAot.Server.Tests;

/// <summary>
/// The official OpenAI JavaScript library (npm openai 7.55.0, under the machine's Node) against the server:
/// js/openai-client.mjs lists the models, asks for a chat completion and a text completion, whole and streamed; each
/// greedy text equals the library's own greedy generation, and each stream equals its whole answer. The package is
/// installed from js/package-lock.json (npm ci) the first time.
/// </summary>
public sealed class JavaScriptClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string Folder = Path.Combine(ProjectRoot(), "tests", "LlamaAot.Server.Tests", "js");

    [Fact(Timeout = 240_000)]
    public async Task TheOpenAiJavaScriptLibraryGetsTheGreedyAnswersWholeAndStreamed()
    {
        if (!File.Exists(Path.Combine(Folder, "node_modules", "openai", "package.json")))
        {
            var install = await RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], TimeSpan.FromMinutes(3));
            Assert.True(install.ExitCode == 0, $"npm ci failed ({install.ExitCode}): {install.Stderr}");
        }
        var run = await RunAsync("node", ["openai-client.mjs", new Uri(fixture.Host.Server.Address, "v1").ToString()], TimeSpan.FromMinutes(1));
        Assert.True(run.ExitCode == 0, $"node openai-client.mjs failed ({run.ExitCode}): {run.Stderr}");
        var got = JsonNode.Parse(run.Stdout)!;

        int[] chatPrompt = fixture.Oracle.ChatTokens(("user", "Tell me a story about a cat."));
        string chat = fixture.Oracle.Greedy(chatPrompt, 24).Text;
        Assert.Equal("stories260K-Q4_0.gguf", (string)got["models"]![0]!);
        Assert.Equal(chat, (string)got["chat"]!["text"]!);
        Assert.Equal("length", (string)got["chat"]!["finish"]!);
        Assert.Equal(chatPrompt.Length, (int)got["chat"]!["usage"]!["prompt_tokens"]!);
        Assert.Equal(chat, (string)got["chatStream"]!["text"]!);
        Assert.Equal("assistant", (string)got["chatStream"]!["role"]!);
        Assert.Equal("length", (string)got["chatStream"]!["finish"]!);
        Assert.Equal(24, (int)got["chatStream"]!["usage"]!["completion_tokens"]!);
        Assert.True((int)got["chatStream"]!["chunks"]! > 10);

        int[] prompt = fixture.Oracle.Model.Tokenize("Once upon a time", addSpecial: true, parseSpecial: true);
        string completion = fixture.Oracle.Greedy(prompt, 24).Text;
        Assert.Equal(completion, (string)got["completion"]!["text"]!);
        Assert.Equal(completion, (string)got["completionStream"]!);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string program, string[] args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    private static string ProjectRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "llama-aot.slnx")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("cannot find the project root (llama-aot.slnx) above " + AppContext.BaseDirectory);
    }
}
