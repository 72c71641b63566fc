using System.Text.Json.Nodes;
using LlamaAot.Chat;
using Microsoft.Extensions.AI;

namespace LlamaAot.Tests.Chat;

/// <summary>
/// llama-aot through Microsoft.Extensions.AI's <see cref="IChatClient"/> (issue 13), driven as code written against the
/// abstraction drives it: only the interface and its extension methods.
/// </summary>
public sealed class ChatClientTests
{
    private static readonly string Model = Shared.Stories260K("Q8_0");

    /// <summary>A client on a stories260K context (512 tokens, one thread), with the model and context under it.</summary>
    private sealed class Setup : IDisposable
    {
        private readonly LlamaContext _context;

        public Setup(int sequences = 1)
        {
            Model = LlamaModel.Load(ChatClientTests.Model);
            _context = Model.CreateContext(new ContextOptions { ContextSize = 512, Sequences = sequences, Threads = 1 });
            Client = new LlamaChatClient(_context);
        }

        public LlamaModel Model { get; }

        public IChatClient Client { get; }

        public void Dispose()
        {
            Client.Dispose();
            _context.Dispose();
            Model.Dispose();
        }
    }

    /// <summary>What a session generates, greedily, for the conversation rendered with the model's template.</summary>
    private static (string Text, int PromptTokens, int Generated) Direct(LlamaModel model, JsonArray messages, GenerationOptions options)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var session = context.CreateSession();
        int[] prompt = new ChatPrompt(model).Tokenize(messages);
        string text = string.Concat(session.GenerateTokens(prompt, options).Select(t => t.Text));
        return (text, prompt.Length, session.LastStats!.GeneratedTokens);
    }

    private static JsonArray Messages(params (string Role, string Content)[] messages) =>
        new(messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());

    [Fact]
    public async Task AResponseIsTheGreedyAnswerWithItsUsageAndFinishReason()
    {
        using var setup = new Setup(sequences: 2);
        IChatClient client = setup.Client;
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 12 };
        ChatResponse response = await client.GetResponseAsync("Tell me a story.", options);

        var expected = Direct(setup.Model, Messages(("user", "Tell me a story.")), new GenerationOptions { MaxTokens = 12, Sampling = new() { Temperature = 0 } });
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(expected.PromptTokens, response.Usage!.InputTokenCount);
        Assert.Equal(12, response.Usage.OutputTokenCount);
        Assert.Equal(expected.PromptTokens + 12, response.Usage.TotalTokenCount);
        Assert.Equal("llama-aot", client.GetService<ChatClientMetadata>()!.ProviderName);
    }

    /// <summary>
    /// ChatOptions.ResponseFormat: JSON with a schema gives an answer that parses and has the schema's shape; JSON without
    /// one any JSON value (issue 15's mapping, through the grammar sampler). The small stories model writes neither
    /// unconstrained.
    /// </summary>
    [Fact]
    public async Task AJsonResponseFormatConstrainsTheAnswer()
    {
        using var setup = new Setup();
        IChatClient client = setup.Client;
        using var schema = System.Text.Json.JsonDocument.Parse("""{"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer", "minimum": 0, "maximum": 99}}, "required": ["name", "age"]}""");
        for (int seed = 1; seed <= 3; seed++)
        {
            var options = new ChatOptions { Seed = seed, MaxOutputTokens = 200, ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement, "person") };
            ChatResponse response = await client.GetResponseAsync("Who is Lily?", options);
            Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
            using var answer = System.Text.Json.JsonDocument.Parse(response.Text);
            Assert.Equal(["name", "age"], answer.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.InRange(answer.RootElement.GetProperty("age").GetInt32(), 0, 99);
            Assert.True(answer.RootElement.GetProperty("name").GetString()!.Length <= 12, response.Text);

            var any = await client.GetResponseAsync("Who is Lily?", new ChatOptions { Seed = seed, MaxOutputTokens = 200, ResponseFormat = ChatResponseFormat.Json });
            Assert.Equal(ChatFinishReason.Stop, any.FinishReason);
            System.Text.Json.JsonDocument.Parse(any.Text).Dispose();
        }
    }

    [Fact]
    public async Task StreamingUpdatesAddUpToTheResponseAndEndWithUsage()
    {
        using var setup = new Setup(sequences: 2);
        IChatClient client = setup.Client;
        List<ChatMessage> conversation = [new(ChatRole.System, "You tell stories."), new(ChatRole.User, "Hello")];
        var options = new ChatOptions { Temperature = 0.8f, TopK = 20, TopP = 0.9f, Seed = 7, MaxOutputTokens = 16 };
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(conversation, options))
            updates.Add(update);
        Assert.True(updates.Count > 2);
        string streamed = string.Concat(updates.Select(u => u.Text));
        Assert.Equal(16, updates.Last().Contents.OfType<UsageContent>().Single().Details.OutputTokenCount);

        // The same seed and options give the same text, streamed or not; the second request reuses the cache.
        var response = await client.GetResponseAsync(conversation, options);
        Assert.Equal(streamed, response.Text);
        var otherSeed = await client.GetResponseAsync(conversation, new ChatOptions { Temperature = 0.8f, TopK = 20, TopP = 0.9f, Seed = 8, MaxOutputTokens = 16 });
        Assert.NotEqual(streamed, otherSeed.Text);
        var expected = Direct(setup.Model, Messages(("system", "You tell stories."), ("user", "Hello")),
            new GenerationOptions { MaxTokens = 16, Sampling = new() { Temperature = 0.8f, TopK = 20, TopP = 0.9f, Seed = 7 } });
        Assert.Equal(expected.Text, streamed);

        // The next turn continues the conversation.
        conversation.AddMessages(response);
        conversation.Add(new ChatMessage(ChatRole.User, "And then?"));
        var next = await client.GetResponseAsync(conversation, new ChatOptions { Temperature = 0, MaxOutputTokens = 8 });
        Assert.Equal(8, next.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task StopSequencesEndTheAnswerBeforeThem()
    {
        using var setup = new Setup();
        IChatClient client = setup.Client;
        string free = (await client.GetResponseAsync("Tell me a story.", new ChatOptions { Temperature = 0, MaxOutputTokens = 30 })).Text;
        string stop = free.Substring(free.Length / 2, 3);
        var stopped = await client.GetResponseAsync("Tell me a story.", new ChatOptions { Temperature = 0, MaxOutputTokens = 30, StopSequences = [stop] });
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task ACancelledRequestThrowsAndTheClientGoesOn()
    {
        using var setup = new Setup();
        IChatClient client = setup.Client;
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync("Hello", new ChatOptions { MaxOutputTokens = 8 }, cancel.Token));
        var response = await client.GetResponseAsync("Hello", new ChatOptions { MaxOutputTokens = 8 });
        Assert.Equal(8, response.Usage!.OutputTokenCount);
    }

    /// <summary>
    /// Tools cannot be honoured (tool calls are not parsed out of answers): offering them is an error, not an answer
    /// that silently never calls them; ToolMode None asks for no call, which is met, and answers as without tools.
    /// </summary>
    [Fact]
    public async Task ToolsOnOfferAreNotSupportedUnlessNoneMayBeCalled()
    {
        using var setup = new Setup();
        IChatClient client = setup.Client;
        using var parameters = System.Text.Json.JsonDocument.Parse("""{"type": "object", "properties": {"city": {"type": "string"}}}""");
        AITool weather = AIFunctionFactory.CreateDeclaration("weather", "The weather in a city", parameters.RootElement.Clone());
        var error = await Assert.ThrowsAsync<NotSupportedException>(() =>
            client.GetResponseAsync("Is it sunny?", new ChatOptions { Tools = [weather], MaxOutputTokens = 8 }));
        Assert.Contains("ChatOptions.Tools", error.Message);
        await Assert.ThrowsAsync<NotSupportedException>(() =>
            client.GetResponseAsync("Is it sunny?", new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireAny, MaxOutputTokens = 8 }));

        var plain = await client.GetResponseAsync("Is it sunny?", new ChatOptions { Temperature = 0, MaxOutputTokens = 8 });
        var none = await client.GetResponseAsync("Is it sunny?", new ChatOptions { Temperature = 0, MaxOutputTokens = 8, Tools = [weather], ToolMode = ChatToolMode.None });
        Assert.Equal(plain.Text, none.Text);
    }

    /// <summary>A message holding more than text (a tool's result, an image) is an error, not text with a hole in it.</summary>
    [Fact]
    public async Task MessagesWithOtherThanTextAreNotSupported()
    {
        using var setup = new Setup();
        IChatClient client = setup.Client;
        List<ChatMessage> toolResult =
        [
            new(ChatRole.User, "Is it sunny?"),
            new(ChatRole.Tool, [new FunctionResultContent("call-1", "sunny")]),
        ];
        var error = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(toolResult, new ChatOptions { MaxOutputTokens = 8 }));
        Assert.Contains("FunctionResultContent", error.Message);
        List<ChatMessage> image = [new(ChatRole.User, [new TextContent("What is this?"), new DataContent(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, "image/png")])];
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(image, new ChatOptions { MaxOutputTokens = 8 }));

        // An answer given back with its usage, as ChatResponse.Messages carry it, is text: the conversation goes on.
        List<ChatMessage> history = [new(ChatRole.User, "Hello")];
        history.AddRange((await client.GetResponseAsync(history, new ChatOptions { Temperature = 0, MaxOutputTokens = 4 })).Messages);
        history.Add(new ChatMessage(ChatRole.User, "And then?"));
        Assert.Equal(4, (await client.GetResponseAsync(history, new ChatOptions { Temperature = 0, MaxOutputTokens = 4 })).Usage!.OutputTokenCount);
    }
}
