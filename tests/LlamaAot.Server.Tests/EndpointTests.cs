using System.Text;
using System.Text.Json.Nodes;
using LlamaAot.Chat;

namespace LlamaAot.Server.Tests;

/// <summary>
/// The endpoints through plain HTTP: /v1/completions (whole and streamed, as server-sent events), llama-server's
/// /tokenize, /detokenize, /apply-template, /health, /metrics.
/// </summary>
public sealed class EndpointTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Host => fixture.Host;

    [Fact(Timeout = 60_000)]
    public async Task ACompletionIsTheGreedyContinuationOfThePrompt()
    {
        var answer = await Host.PostJsonAsync("/v1/completions", """{"model": "x", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0}""");
        int[] prompt = fixture.Oracle.Model.Tokenize("Once upon a time", addSpecial: true, parseSpecial: true);
        Assert.Equal(fixture.Oracle.Greedy(prompt, 32).Text, (string)answer["choices"]![0]!["text"]!);
        Assert.Equal("text_completion", (string)answer["object"]!);
        Assert.Equal("length", (string)answer["choices"]![0]!["finish_reason"]!);
        Assert.Equal(prompt.Length, (int)answer["usage"]!["prompt_tokens"]!);
        Assert.Equal(32, (int)answer["usage"]!["completion_tokens"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task AStreamedCompletionIsServerSentEventsEndingWithDone()
    {
        string body = """{"prompt": "Once upon a time", "max_tokens": 32, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}""";
        using var response = await Host.PostAsync("/v1/completions", body);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        string sse = await response.Content.ReadAsStringAsync();
        // Every event is one "data: " line and a blank line; the last is [DONE].
        string[] events = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        string text = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string)c["choices"]![0]!["text"]!));
        int[] prompt = fixture.Oracle.Model.Tokenize("Once upon a time", addSpecial: true, parseSpecial: true);
        Assert.Equal(fixture.Oracle.Greedy(prompt, 32).Text, text);
        Assert.Equal("length", (string)chunks[^2]["choices"]![0]!["finish_reason"]!);
        Assert.Equal(32, (int)chunks[^1]["usage"]!["completion_tokens"]!);
    }

    /// <summary>
    /// A character of several UTF-8 bytes, each its own byte-fallback token (a grammar makes the model write them), is
    /// streamed whole in one delta once its last byte is generated, never as replacement characters.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task StreamedDeltasNeverSplitAUtf8Character()
    {
        string body = """{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 40, "temperature": 0, "stream": true, "grammar": "root ::= \"é🙂 🙂\""}""";
        using var response = await Host.PostAsync("/v1/chat/completions", body);
        string sse = await response.Content.ReadAsStringAsync();
        var deltas = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Where(e => e != "data: [DONE]")
            .Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]!.AsArray())
            .Where(c => c.Count > 0 && c[0]!["delta"]!["content"] is not null)
            .Select(c => (string)c[0]!["delta"]!["content"]!).Where(t => t.Length > 0).ToList();
        Assert.Equal("é🙂 🙂", string.Concat(deltas));
        Assert.All(deltas, d => Assert.DoesNotContain('\uFFFD', d));
        Assert.Contains("🙂", deltas); // four byte tokens, one delta
    }

    /// <summary>
    /// A grammar with the repetition penalty: where the chain's first choice broke the grammar, the penalties were
    /// applied to the candidates the grammar had kept, found at their ids among fewer (a 500, IndexOutOfRangeException).
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task AGrammarWorksWithTheRepetitionPenalty()
    {
        var answer = await Host.PostJsonAsync("/v1/completions", """{"prompt": "Ben had", "grammar": "root ::= [a-z ]+", "repeat_penalty": 1.2, "temperature": 0, "max_tokens": 8}""");
        Assert.Matches("^[a-z ]+$", (string)answer["choices"]![0]!["text"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task TokenizeAndDetokenizeAreTheModelsTokenizer()
    {
        const string text = "Once upon a time, <s> there was";
        var tokens = await Host.PostJsonAsync("/tokenize", $$"""{"content": "{{text}}"}""");
        int[] ids = [.. tokens["tokens"]!.AsArray().Select(t => (int)t!)];
        Assert.Equal(fixture.Oracle.Model.Tokenize(text, addSpecial: false, parseSpecial: true), ids);

        var withBos = await Host.PostJsonAsync("/tokenize", """{"content": "Once", "add_special": true, "with_pieces": true}""");
        Assert.Equal(fixture.Oracle.Model.Vocabulary.Bos, (int)withBos["tokens"]![0]!["id"]!);
        Assert.Equal("Once", string.Concat(withBos["tokens"]!.AsArray().Skip(1).Select(t => (string)t!["piece"]!)).Trim());

        var back = await Host.PostJsonAsync("/detokenize", $$"""{"tokens": [{{string.Join(",", fixture.Oracle.Model.Tokenize("Once upon a time", addSpecial: false))}}]}""");
        Assert.Equal(fixture.Oracle.Model.Detokenize(fixture.Oracle.Model.Tokenize("Once upon a time", addSpecial: false)), (string)back["content"]!);
    }

    /// <summary>
    /// An assistant's tool calls come with "content": null (or none) from OpenAI clients: as llama.cpp, the template sees
    /// "" (the ChatML fallback concatenates content, and failed on null); a message with neither is 400.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task AToolCallWithoutContentRendersWithAnEmptyContent()
    {
        const string call = "\"tool_calls\": [{\"id\": \"1\", \"type\": \"function\", \"function\": {\"name\": \"weather\", \"arguments\": \"{}\"}}]";
        string expected = "<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n";
        foreach (string content in (string[])["\"content\": null, ", ""])
        {
            var answer = await Host.PostJsonAsync("/apply-template", $$"""{"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", {{content}}{{call}}}]}""");
            Assert.Equal(expected, (string)answer["prompt"]!);
        }
        var error = await Host.PostJsonAsync("/v1/chat/completions", """{"messages": [{"role": "user"}]}""", status: 400);
        Assert.Equal("messages[0] needs 'content' or 'tool_calls'", (string)error["error"]!["message"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task ApplyTemplateRendersTheChatMlFallback()
    {
        var answer = await Host.PostJsonAsync("/apply-template", """{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]}]}""");
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi\nthere<|im_end|>\n<|im_start|>assistant\n", (string)answer["prompt"]!);
        Assert.Equal(ChatTemplate.ChatMlSource, new ChatPrompt(fixture.Oracle.Model).Template.Source);
    }

    [Fact(Timeout = 60_000)]
    public async Task HealthIsOkAndMetricsCountTokens()
    {
        Assert.Equal("ok", (string)(await GetJsonAsync("/health"))["status"]!);
        await Host.PostJsonAsync("/v1/completions", """{"prompt": "Once upon a time", "max_tokens": 4, "temperature": 0}""");
        // This server has no --metrics: the endpoint is not there.
        using var none = await Host.Http.GetAsync("/metrics");
        Assert.Equal(404, (int)none.StatusCode);
    }

    private async Task<JsonNode> GetJsonAsync(string path)
    {
        using var response = await Host.Http.GetAsync(path);
        Assert.Equal(200, (int)response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }
}

/// <summary>/metrics with --metrics, /health while the model loads, --chat-template-file.</summary>
public sealed class ServerStateTests
{
    [Fact(Timeout = 60_000)]
    public async Task HealthIs503WhileTheModelLoadsThen200()
    {
        var gate = new TaskCompletionSource();
        await using var host = await TestServer.StartAsync(loadAfter: gate.Task, waitReady: false);
        using (var loading = await host.Http.GetAsync("/health"))
        {
            Assert.Equal(503, (int)loading.StatusCode);
            Assert.Equal("unavailable_error", (string)JsonNode.Parse(await loading.Content.ReadAsStringAsync())!["error"]!["type"]!);
        }
        using (var chat = await host.PostAsync("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}]}"""))
            Assert.Equal(503, (int)chat.StatusCode);
        gate.SetResult();
        await host.Server.Ready.WaitAsync(TestServer.Timeout);
        using var ready = await host.Http.GetAsync("/health");
        Assert.Equal(200, (int)ready.StatusCode);
    }

    /// <summary>
    /// A chat template given to the server (--chat-template-file) renders the messages, and a tool call's arguments sent
    /// as a JSON string (as OpenAI's API sends them) reach it as an object, as llama.cpp passes them.
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task AGivenChatTemplateRendersAndToolCallArgumentsReachItAsAnObject()
    {
        const string template = "{% for m in messages %}[{{ m.role }}]{% if m.tool_calls %}{{ m.tool_calls[0].function.name }}({{ m.tool_calls[0].function.arguments.city }}){% else %}{{ m.content }}{% endif %}{% endfor %}";
        await using var host = await TestServer.StartAsync(o => o with { ChatTemplateSource = template, Context = o.Context with { Sequences = 1, ContextSize = 256 } });
        var answer = await host.PostJsonAsync("/apply-template", """
            {"messages": [{"role": "user", "content": "Weather?"},
                          {"role": "assistant", "content": null, "tool_calls": [{"id": "1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]}]}
            """);
        Assert.Equal("[user]Weather?[assistant]weather(Paris)", (string)answer["prompt"]!);
        var chat = await host.PostJsonAsync("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Weather?"}], "max_tokens": 4, "temperature": 0}""");
        using var oracle = new Oracle();
        Assert.Equal(oracle.Model.Tokenize("[user]Weather?", addSpecial: true, parseSpecial: true).Length, (int)chat["usage"]!["prompt_tokens"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task MetricsUseLlamaServersNamesAndCountTheWork()
    {
        await using var host = await TestServer.StartAsync(o => o with { Metrics = true });
        await host.PostJsonAsync("/v1/completions", """{"prompt": "Once upon a time", "max_tokens": 10, "temperature": 0}""");
        using var response = await host.Http.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        var values = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(l => l.StartsWith("llamacpp:", StringComparison.Ordinal))
            .ToDictionary(l => l.Split(' ')[0], l => double.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));
        using var oracle = new Oracle();
        int promptTokens = oracle.Model.Tokenize("Once upon a time").Length;
        Assert.Equal(promptTokens, values["llamacpp:prompt_tokens_total"]);
        Assert.Equal(10, values["llamacpp:tokens_predicted_total"]);
        Assert.Equal(0, values["llamacpp:requests_processing"]);
        Assert.Equal(0, values["llamacpp:requests_deferred"]);
        Assert.True(values["llamacpp:n_decode_total"] >= 10);
        Assert.Equal(promptTokens + 9, values["llamacpp:kv_cache_tokens"]); // the last token sampled is never evaluated
        foreach (string name in (string[])["prompt_seconds_total", "tokens_predicted_seconds_total", "n_busy_slots_per_decode", "prompt_tokens_seconds", "predicted_tokens_seconds", "kv_cache_usage_ratio"])
            Assert.Contains("llamacpp:" + name, values.Keys);
    }
}
