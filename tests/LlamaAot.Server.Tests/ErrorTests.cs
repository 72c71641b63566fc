using System.Text.Json.Nodes;

namespace LlamaAot.Server.Tests;

/// <summary>
/// Bad requests get OpenAI's error body <c>{"error": {"code", "message", "type"}}</c> with the right status, and the
/// server keeps serving after each.
/// </summary>
public sealed class ErrorTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Host => fixture.Host;

    [Theory(Timeout = 60_000)]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}""", "invalid_request_error")] // malformed JSON
    [InlineData("/v1/chat/completions", "", "invalid_request_error")]
    [InlineData("/v1/chat/completions", "null", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "temperature": "hot"}""", "invalid_request_error")] // wrong type
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1.5}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": "Hi"}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": []}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"model": "m"}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"content": "no role"}]}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "n": 2}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "top_logprobs": 21, "logprobs": true}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "stop": 3}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "response_format": {"type": "xml"}}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "grammar": "root ::= [a"}""", "invalid_request_error")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Hi"}], "seed": -2}""", "invalid_request_error")]
    [InlineData("/v1/completions", """{"prompt": ["a", "b"]}""", "invalid_request_error")]
    [InlineData("/v1/completions", """{"prompt": [1, 99999]}""", "invalid_request_error")]
    [InlineData("/v1/completions", """{"max_tokens": 3}""", "invalid_request_error")]
    [InlineData("/detokenize", """{"tokens": [-1]}""", "invalid_request_error")]
    public async Task ABadRequestIs400WithAnOpenAiErrorBody(string path, string body, string type)
    {
        using var response = await Host.PostAsync(path, body);
        var error = await ErrorAsync(response, 400);
        Assert.Equal(type, (string)error["type"]!);
        Assert.Equal(400, (int)error["code"]!);
        Assert.False(string.IsNullOrWhiteSpace((string)error["message"]!));
        await StillServesAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task UnknownFieldsAreIgnored()
    {
        var answer = await Host.PostJsonAsync("/v1/chat/completions",
            """{"messages": [{"role": "user", "content": "Hi", "name": "me", "future": {"a": 1}}], "max_tokens": 2, "temperature": 0, "reasoning_effort": "low", "metadata": {"k": "v"}, "user": "u", "store": false}""");
        Assert.Equal(2, (int)answer["usage"]!["completion_tokens"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task APromptLongerThanTheSlotsContextIsExceedContextSizeError()
    {
        // 4 slots of 2048 / 4 = 512 positions; each " cat" is a token.
        string prompt = string.Concat(Enumerable.Repeat(" cat", 600));
        using var response = await Host.PostAsync("/v1/completions", $$"""{"prompt": "{{prompt}}", "max_tokens": 1}""");
        var error = await ErrorAsync(response, 400);
        Assert.Equal("exceed_context_size_error", (string)error["type"]!);
        Assert.Equal(512, (int)error["n_ctx"]!);
        Assert.True((int)error["n_prompt_tokens"]! > 512);
        await StillServesAsync();
    }

    /// <summary>
    /// A 10 MB body (over the 8 MiB limit) is refused from its Content-Length with 413 before it is read; the request is
    /// written on a raw socket, since the server closes the connection without reading the rest (HttpClient then fails
    /// on the write instead of showing the answer, as curl shows it).
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task ABodyOverTheLimitIs413()
    {
        using var timeout = new CancellationTokenSource(TestServer.Timeout);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(Host.Server.Address.Host, Host.Server.Address.Port, timeout.Token);
        var stream = tcp.GetStream();
        string head = $"POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {10 << 20}\r\n\r\n{{\"prompt\": \"aaaa";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head), timeout.Token);
        using var reader = new StreamReader(stream);
        Assert.Equal("HTTP/1.1 413 Payload Too Large", await reader.ReadLineAsync(timeout.Token));
        string rest = await reader.ReadToEndAsync(timeout.Token);
        Assert.Contains("\"code\":413", rest);
        await StillServesAsync();
    }

    /// <summary>
    /// Text System.Text.Json reads lazily is checked as the body is read: a key twice in one object, and a string or key
    /// that is not Unicode (ill-formed UTF-8, written here as \xFF; an escaped lone surrogate). The request-body fuzz
    /// test found each as a 500 from where the value was used (a chat message, a schema's key).
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData("/apply-template", """{"messages": [{"role": "user", "content": "a", "content": "b"}]}""", "the key 'content' is given twice")]
    [InlineData("/v1/completions", """{"prompt": "x", "json_schema": {"type": "string", "type": "integer"}}""", "the key 'type' is given twice")]
    [InlineData("/v1/chat/completions", """{"messages": [{"role": "user", "content": "Th\xFF cat"}]}""", "is not Unicode text")]
    [InlineData("/v1/completions", """{"prompt": "x", "json_schema": {"type": "object", "properties": {"a\ud800": {}}}}""", "is not Unicode text")]
    [InlineData("/tokenize", """{"content": "\udc00\ud800"}""", "is not Unicode text")]
    public async Task TextTheReaderLeavesForLaterIs400(string path, string body, string says)
    {
        byte[] bytes = body.Split("\\xFF").Select(System.Text.Encoding.UTF8.GetBytes).Aggregate((a, b) => [.. a, 0xFF, .. b]);
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await Host.Http.PostAsync(path, content);
        var error = await ErrorAsync(response, 400);
        Assert.Contains(says, (string)error["message"]!);
        await StillServesAsync();
    }

    /// <summary>
    /// A message quotes what the request sent on one line and cut short (Excerpt): a long value with a line break in it,
    /// and the rest of the body that System.Text.Json quotes after a bad literal, made messages of 6,000 to 30,000
    /// characters over several lines.
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData("""{"prompt": "x", "response_format": {"type": "a\nb{LONG}"}}""")]
    [InlineData("{\"prompt\": \"x\", \"stream\": tru\n{LONG}}")]
    [InlineData("""{"prompt": [1, 1{LONG}]}""")]
    public async Task AValueQuotedInAMessageIsOneShortLine(string body)
    {
        using var response = await Host.PostAsync("/v1/completions", body.Replace("{LONG}", new string('7', 10_000)));
        string message = (string)(await ErrorAsync(response, 400))["message"]!;
        Assert.DoesNotContain('\n', message);
        Assert.InRange(message.Length, 1, 400); // the fuzz tests' bound on an error line
    }

    /// <summary>
    /// A grammar naming a token the vocabulary does not have is refused before the request is queued, 400 whether it
    /// streams or not (the sampler is made with the request; the scheduler made it, and the request got a 500).
    /// </summary>
    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AGrammarTokenTheVocabularyLacksIs400(bool stream)
    {
        using var response = await Host.PostAsync("/v1/completions", $$"""{"prompt": "x", "grammar": "root ::= <|nope|>", "stream": {{(stream ? "true" : "false")}}}""");
        Assert.Contains("is not one token of this model's vocabulary", (string)(await ErrorAsync(response, 400))["message"]!);
        await StillServesAsync();
    }

    /// <summary>
    /// A grammar that cannot go on mid-generation is the request's fault, not the server's: here its sentence is done
    /// and only end of generation fits, which ignore_eos suppresses. A 400 (it was a 500), or in a stream, which sent
    /// 200 already, a last error event with code 400 before [DONE].
    /// </summary>
    [Fact(Timeout = 60_000)]
    public async Task AGrammarThatCannotGoOnIsTheRequestsError()
    {
        const string body = """{"prompt": "x", "grammar": "root ::= \"a\"", "ignore_eos": true, "max_tokens": 8, "temperature": 0""";
        using (var whole = await Host.PostAsync("/v1/completions", body + "}"))
            Assert.Contains("the grammar cannot continue", (string)(await ErrorAsync(whole, 400))["message"]!);
        using var streamed = await Host.PostAsync("/v1/completions", body + ", \"stream\": true}");
        Assert.Equal(200, (int)streamed.StatusCode);
        string[] events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        var error = JsonNode.Parse(events[^2]["data: ".Length..])!["error"]!;
        Assert.Equal((400, "invalid_request_error"), ((int)error["code"]!, (string)error["type"]!));
        await StillServesAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task AnUnknownPathIs404()
    {
        using var response = await Host.Http.GetAsync("/v1/embeddings");
        Assert.Equal("not_found_error", (string)(await ErrorAsync(response, 404))["type"]!);
    }

    [Fact(Timeout = 60_000)]
    public async Task AResponseFormatConstrainsTheAnswerToJson()
    {
        var answer = await Host.PostJsonAsync("/v1/chat/completions",
            """{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 60, "temperature": 0, "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["n"], "additionalProperties": false}}}}""");
        string content = (string)answer["choices"]![0]!["message"]!["content"]!;
        Assert.Equal("stop", (string)answer["choices"]![0]!["finish_reason"]!);
        var parsed = JsonNode.Parse(content)!;
        Assert.InRange((int)parsed["n"]!, 0, 9);
    }

    private static async Task<JsonNode> ErrorAsync(HttpResponseMessage response, int status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        return JsonNode.Parse(text)!["error"]!;
    }

    private async Task StillServesAsync()
    {
        var answer = await Host.PostJsonAsync("/v1/completions", """{"prompt": "Once", "max_tokens": 2, "temperature": 0}""");
        Assert.Equal(2, (int)answer["usage"]!["completion_tokens"]!);
    }
}

/// <summary>--api-key: requests without it, or with another, get 401; /health and /v1/models stay open.</summary>
public sealed class ApiKeyTests
{
    [Fact(Timeout = 60_000)]
    public async Task RequestsNeedTheKey()
    {
        await using var host = await TestServer.StartAsync(o => o with { ApiKey = "s3cret", Context = o.Context with { Sequences = 1, ContextSize = 256 } });
        const string body = """{"prompt": "Once", "max_tokens": 2}""";
        using (var none = await host.PostAsync("/v1/completions", body))
            Assert.Equal(401, (int)none.StatusCode);
        using (var wrong = await host.PostAsync("/v1/completions", body, apiKey: "guess"))
        {
            Assert.Equal(401, (int)wrong.StatusCode);
            Assert.Equal("authentication_error", (string)JsonNode.Parse(await wrong.Content.ReadAsStringAsync())!["error"]!["type"]!);
        }
        using (var right = await host.PostAsync("/v1/completions", body, apiKey: "s3cret"))
            Assert.Equal(200, (int)right.StatusCode);
        using (var health = await host.Http.GetAsync("/health"))
            Assert.Equal(200, (int)health.StatusCode);
        using (var models = await host.Http.GetAsync("/v1/models"))
            Assert.Equal(200, (int)models.StatusCode);
    }
}
