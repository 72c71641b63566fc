using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;

namespace LlamaAot.Server.Tests;

/// <summary>
/// Parallel slots with continuous batching: concurrent requests decode together yet each answer is byte for byte what
/// the request gets alone; requests beyond the slots wait, beyond the queue get 503; clients that leave free their slot.
/// </summary>
public sealed class SlotTests
{
    /// <summary>
    /// 64 concurrent streaming greedy requests on 4 slots (the load test): different prompts and lengths, so requests join and leave
    /// the batch at different steps and prompt tokens share steps with generated ones. Each text equals the library's
    /// greedy generation of its prompt alone, none lost or mixed.
    /// </summary>
    [Fact(Timeout = 120_000)]
    public async Task ConcurrentStreamsEachEqualTheirSingleRequestResult()
    {
        await using var host = await TestServer.StartAsync(o => o with { Metrics = true });
        using var oracle = new Oracle();
        var client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(host.Server.Address, "v1"), NetworkTimeout = TestServer.Timeout })
            .GetChatClient("m");
        string[] subjects = ["a cat", "a dog", "the sea", "a red ball", "two friends", "a little bird", "the moon", "a big tree"];
        var requests = Enumerable.Range(0, 64).Select(i => (Question: $"Tell me a story about {subjects[i % subjects.Length]}.", MaxTokens: 10 + 37 * i % 150)).ToArray();

        async Task<string> StreamAsync(string question, int maxTokens)
        {
            var text = new StringBuilder();
            var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = maxTokens };
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(question)], options))
            {
                foreach (var part in update.ContentUpdate)
                    text.Append(part.Text);
            }
            return text.ToString();
        }

        string[] answers = await Task.WhenAll(requests.Select(r => Task.Run(() => StreamAsync(r.Question, r.MaxTokens))));
        for (int i = 0; i < requests.Length; i++)
        {
            var expected = oracle.Greedy(oracle.ChatTokens(("user", requests[i].Question)), requests[i].MaxTokens);
            Assert.Equal(expected.Text, answers[i]);
        }
        await host.WaitIdleAsync(4);
        // They were decoded together: on average more than 3 of the 4 slots busy in each forward pass.
        string metrics = await host.Http.GetStringAsync("/metrics");
        double busy = double.Parse(metrics.Split('\n').Single(l => l.StartsWith("llamacpp:n_busy_slots_per_decode ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(busy > 3, $"{busy} slots busy per forward pass");
    }

    /// <summary>
    /// One slot, a queue of one: a running request and a waiting one fill the server, the next gets 503 with
    /// Retry-After; when the clients leave (one mid-stream, one while queued) the slot is idle again and serves.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task BeyondTheQueueIs503AndClientsThatLeaveFreeTheSlot()
    {
        await using var host = await TestServer.StartAsync(o => o with { MaxQueue = 1, Metrics = true, Context = o.Context with { Sequences = 1, ContextSize = 4096 } });
        const string endless = """{"prompt": "Once upon a time", "max_tokens": 4000, "ignore_eos": true, "temperature": 0, "stream": true}""";

        using var running = new CancellationTokenSource();
        var first = await SendAsync(host, endless, running.Token);
        var stream = await first.Content.ReadAsStreamAsync(running.Token);
        var reader = new StreamReader(stream);
        Assert.StartsWith("data: ", await reader.ReadLineAsync(running.Token)); // generating

        using var queued = new CancellationTokenSource();
        var second = SendAsync(host, endless, queued.Token);
        using (var timeout = new CancellationTokenSource(TestServer.Timeout))
        {
            while (host.Server.Metrics.Deferred != 1)
                await Task.Delay(10, timeout.Token);
        }
        using (var refused = await host.PostAsync("/v1/completions", """{"prompt": "Once", "max_tokens": 2}"""))
        {
            Assert.Equal(503, (int)refused.StatusCode);
            Assert.Equal("1", refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("unavailable_error", (string)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["type"]!);
        }

        queued.Cancel(); // leaves while waiting
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        running.Cancel(); // leaves mid-stream
        first.Dispose();
        await host.WaitIdleAsync(1);
        string metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Contains("llamacpp:requests_processing 0\n", metrics);
        Assert.Contains("llamacpp:requests_deferred 0\n", metrics);

        var answer = await host.PostJsonAsync("/v1/completions", """{"prompt": "Once", "max_tokens": 3, "temperature": 0}""");
        Assert.Equal(3, (int)answer["usage"]!["completion_tokens"]!);
    }

    /// <summary>
    /// 4 slots, 4 rounds (the 16 + 16): in each, 4 clients take the slots and leave mid-stream, and 4 more leave
    /// while queued behind them. A round's streams start only if the last round freed every slot; at the end every slot
    /// is idle, nothing waits, the leavers' streams stopped within a few steps of their leaving, and the server serves 4 at once.
    /// </summary>
    [Fact(Timeout = 90_000)]
    public async Task ClientsThatLeaveMidStreamOrWhileQueuedFreeEverySlot()
    {
        const int Slots = 4, Rounds = 4, MaxTokens = 4000;
        await using var host = await TestServer.StartAsync(o => o with { Metrics = true, Context = o.Context with { ContextSize = 4 * MaxTokens + 1024 } });
        string endless = $$"""{"prompt": "Once upon a time", "max_tokens": {{MaxTokens}}, "ignore_eos": true, "temperature": 0, "stream": true}""";
        for (int round = 0; round < Rounds; round++)
        {
            var streaming = new List<(CancellationTokenSource Cancel, HttpResponseMessage Response)>();
            for (int i = 0; i < Slots; i++)
            {
                var cancel = new CancellationTokenSource(TestServer.Timeout);
                var response = await SendAsync(host, endless, cancel.Token);
                var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
                Assert.StartsWith("data: ", await reader.ReadLineAsync(cancel.Token));
                streaming.Add((cancel, response));
            }
            var queued = new List<(CancellationTokenSource Cancel, Task<HttpResponseMessage> Response)>();
            for (int i = 0; i < Slots; i++)
            {
                var cancel = new CancellationTokenSource();
                queued.Add((cancel, SendAsync(host, endless, cancel.Token)));
            }
            using (var timeout = new CancellationTokenSource(TestServer.Timeout))
            {
                while (host.Server.Metrics.Deferred != Slots)
                    await Task.Delay(10, timeout.Token);
            }
            foreach (var (cancel, response) in queued)
            {
                cancel.Cancel();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => response);
                cancel.Dispose();
            }
            double atLeaving = Predicted(await host.Http.GetStringAsync("/metrics"));
            foreach (var (cancel, response) in streaming)
            {
                cancel.Cancel();
                response.Dispose();
                cancel.Dispose();
            }
            await host.WaitIdleAsync(Slots);
            // Served to the end, the streams would go on to 4 x 4000 tokens; freed at the next step, they stop within a few
            // (16-32 tokens in all on a quiet machine; 512 leaves room for a busy one).
            double afterwards = Predicted(await host.Http.GetStringAsync("/metrics")) - atLeaving;
            Assert.True(afterwards < Slots * 128, $"round {round}: {afterwards} tokens were generated after the clients left");
        }
        string metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Contains("llamacpp:requests_processing 0\n", metrics);
        Assert.Contains("llamacpp:requests_deferred 0\n", metrics);

        var answers = await Task.WhenAll(Enumerable.Range(0, Slots).Select(_ => host.PostJsonAsync("/v1/completions", """{"prompt": "Once", "max_tokens": 3, "temperature": 0}""")));
        Assert.All(answers, a => Assert.Equal(3, (int)a["usage"]!["completion_tokens"]!));
    }

    /// <summary>A slot keeps its cache: a prompt that starts with the previous request's evaluates only its new tokens.</summary>
    [Fact(Timeout = 60_000)]
    public async Task ASlotReusesThePrefixOfItsPreviousRequest()
    {
        await using var host = await TestServer.StartAsync(o => o with { Metrics = true, Context = o.Context with { Sequences = 1, ContextSize = 512 } });
        using var oracle = new Oracle();
        const string first = "Once upon a time, there was a little girl named Lily.";
        const string second = first + " She loved to play with her ball in the park.";
        // One token: the slot then holds exactly the first prompt (the token sampled last is never evaluated).
        await host.PostJsonAsync("/v1/completions", $$"""{"prompt": "{{first}}", "max_tokens": 1, "temperature": 0}""");
        double before = PromptTokens(await host.Http.GetStringAsync("/metrics"));
        var answer = await host.PostJsonAsync("/v1/completions", $$"""{"prompt": "{{second}}", "max_tokens": 16, "temperature": 0}""");
        double evaluated = PromptTokens(await host.Http.GetStringAsync("/metrics")) - before;

        int[] a = oracle.Model.Tokenize(first, addSpecial: true, parseSpecial: true), b = oracle.Model.Tokenize(second, addSpecial: true, parseSpecial: true);
        int common = a.AsSpan().CommonPrefixLength(b);
        Assert.True(common > 5);
        Assert.Equal(b.Length - common, evaluated);
        Assert.Equal(oracle.Greedy(b, 16).Text, (string)answer["choices"]![0]!["text"]!);
    }

    private static double PromptTokens(string metrics) => Metric(metrics, "llamacpp:prompt_tokens_total");

    private static double Predicted(string metrics) => Metric(metrics, "llamacpp:tokens_predicted_total");

    private static double Metric(string metrics, string name) =>
        double.Parse(metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    private static Task<HttpResponseMessage> SendAsync(TestServer host, string body, CancellationToken cancellationToken) =>
        host.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") },
            HttpCompletionOption.ResponseHeadersRead, cancellationToken);
}
