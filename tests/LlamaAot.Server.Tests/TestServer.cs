using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using LlamaAot.Chat;

namespace LlamaAot.Server.Tests;

/// <summary>
/// A server on stories260K (no chat template: llama.cpp's ChatML fallback) on a free loopback port, one thread, with a
/// plain HttpClient on it. Every request made through it is bounded by <see cref="Timeout"/>.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public static readonly string ModelPath = Shared.Stories260K("Q4_0");
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private TestServer(LlamaServer server)
    {
        Server = server;
        // A response given up before its end closes the connection, as a client that leaves does: .NET would otherwise
        // read on (up to 1 MiB, 2 s) to keep the connection for its pool, and the server would rightly go on sending.
        Http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.Address, Timeout = Timeout };
    }

    public LlamaServer Server { get; }

    public HttpClient Http { get; }

    /// <summary>Starts a server with <paramref name="configure"/>'s changes to the defaults below, and waits until it is ready.</summary>
    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null, Task? loadAfter = null, bool waitReady = true)
    {
        var options = new ServerOptions
        {
            ModelPath = ModelPath,
            Port = 0,
            Context = new ContextOptions { ContextSize = 2048, Sequences = 4, Threads = 1 },
        };
        options = configure?.Invoke(options) ?? options;
        using var timeout = new CancellationTokenSource(Timeout);
        var server = await LlamaServer.StartAsync(options, null, loadAfter, timeout.Token);
        if (waitReady)
            await server.Ready.WaitAsync(Timeout);
        return new TestServer(server);
    }

    /// <summary>POSTs <paramref name="json"/> to <paramref name="path"/>.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json, string? apiKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (apiKey is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return Http.SendAsync(request);
    }

    /// <summary>POSTs and reads the answer as JSON, checking its status.</summary>
    public async Task<JsonNode> PostJsonAsync(string path, string json, int status = 200)
    {
        using var response = await PostAsync(path, json);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{path}: expected {status}, got {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Waits until every slot is idle (a freed slot is freed at the scheduler's next step).</summary>
    public async Task WaitIdleAsync(int slots)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (Server.IdleSlots != slots || Server.Metrics.Deferred != 0)
            await Task.Delay(20, timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync().AsTask().WaitAsync(Timeout);
    }
}

/// <summary>What llama-aot's library generates greedily for a prompt, each request alone on its own context: the oracle.</summary>
internal sealed class Oracle : IDisposable
{
    private readonly LlamaModel _model = LlamaModel.Load(TestServer.ModelPath);

    public LlamaModel Model => _model;

    public int[] ChatTokens(params (string Role, string Content)[] messages) => new ChatPrompt(_model).Tokenize(Messages(messages));

    public static JsonArray Messages(params (string Role, string Content)[] messages) =>
        new([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })]);

    /// <summary>The greedy text after <paramref name="prompt"/> and the number of tokens generated.</summary>
    public (string Text, int Generated) Greedy(int[] prompt, int maxTokens, bool ignoreEos = false)
    {
        using var context = _model.CreateContext(new ContextOptions { ContextSize = 512, Threads = 1 });
        using var session = context.CreateSession();
        var options = new GenerationOptions { MaxTokens = maxTokens, IgnoreEos = ignoreEos, Sampling = new() { Temperature = 0 } };
        string text = string.Concat(session.GenerateTokens(prompt, options).Select(t => t.Text));
        return (text, session.LastStats!.GeneratedTokens);
    }

    public void Dispose() => _model.Dispose();
}
