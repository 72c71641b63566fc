using System.ClientModel;
using System.Text;
using OpenAI;
using OpenAI.Chat;

namespace LlamaAot.Server.Tests;

/// <summary>One server (4 slots) and the library's oracle, shared by the tests of a class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    internal TestServer Host { get; private set; } = null!;

    internal Oracle Oracle { get; } = new();

    /// <summary>The official OpenAI .NET client, pointed at the server's /v1.</summary>
    public OpenAIClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Host = await TestServer.StartAsync();
        Client = new OpenAIClient(new ApiKeyCredential("unused"), new OpenAIClientOptions
        {
            Endpoint = new Uri(Host.Server.Address, "v1"),
            NetworkTimeout = TestServer.Timeout,
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        Oracle.Dispose();
    }
}

/// <summary>
/// The server through the official OpenAI .NET library (NuGet OpenAI 2.15.0), as applications use it: greedy answers
/// equal the library's own greedy generation of the same prompt (the chat template's rendering of the messages), a
/// stream's text equals the whole answer, usage counts the tokens.
/// </summary>
public sealed class OpenAiClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Model = "stories260K-Q4_0.gguf";

    private static readonly ChatMessage[] Story = [new UserChatMessage("Tell me a story about a cat.")];

    [Fact(Timeout = 60_000)]
    public async Task AChatCompletionIsTheGreedyAnswerWithItsUsage()
    {
        var chat = fixture.Client.GetChatClient(Model);
        ChatCompletion completion = await chat.CompleteChatAsync(Story, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 24 });

        int[] prompt = fixture.Oracle.ChatTokens(("user", "Tell me a story about a cat."));
        var expected = fixture.Oracle.Greedy(prompt, 24);
        Assert.Equal(expected.Text, completion.Content.Single().Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(prompt.Length, completion.Usage.InputTokenCount);
        Assert.Equal(24, completion.Usage.OutputTokenCount);
        Assert.Equal(prompt.Length + 24, completion.Usage.TotalTokenCount);
        Assert.Equal(Model, completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task AStreamedChatCompletionHasTheSameTextThenTheFinishReasonAndTheUsage()
    {
        var chat = fixture.Client.GetChatClient(Model);
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 };
        ChatCompletion whole = await chat.CompleteChatAsync(Story, options);

        var text = new StringBuilder();
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync(Story, options))
        {
            updates.Add(update);
            foreach (var part in update.ContentUpdate)
                text.Append(part.Text);
        }
        Assert.Equal(whole.Content.Single().Text, text.ToString());
        Assert.Equal(ChatMessageRole.Assistant, updates[0].Role);
        Assert.Equal(ChatFinishReason.Length, updates.Single(u => u.FinishReason is not null).FinishReason);
        // The client asks for the usage chunk (stream_options.include_usage): the last one, with no choices.
        var usage = updates[^1].Usage;
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(40, usage.OutputTokenCount);
        // Several content chunks: the text was streamed token by token, not sent at the end.
        Assert.True(updates.Count(u => u.ContentUpdate.Count > 0 && u.ContentUpdate[0].Text.Length > 0) > 10);
    }

    [Fact(Timeout = 60_000)]
    public async Task AStopStringEndsTheAnswerBeforeIt()
    {
        var chat = fixture.Client.GetChatClient(Model);
        var free = await chat.CompleteChatAsync(Story, new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 });
        string full = free.Value.Content.Single().Text;
        // A word from the middle of the greedy answer: the answer with it as a stop string is the text before it.
        string stop = full.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 };
        options.StopSequences.Add(stop);
        ChatCompletion stopped = await chat.CompleteChatAsync(Story, options);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], stopped.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact(Timeout = 60_000)]
    public async Task TheModelsListNamesTheModel()
    {
        var models = await fixture.Client.GetOpenAIModelClient().GetModelsAsync();
        Assert.Equal(Model, Assert.Single(models.Value).Id);
    }

    [Fact(Timeout = 60_000)]
    public async Task LogprobsGiveTheChosenTokenAsTheMostLikelyUnderGreedy()
    {
        var chat = fixture.Client.GetChatClient(Model);
        ChatCompletion completion = await chat.CompleteChatAsync(Story, new ChatCompletionOptions
        {
            Temperature = 0,
            MaxOutputTokenCount = 8,
            IncludeLogProbabilities = true,
            TopLogProbabilityCount = 3,
        });
        var tokens = completion.ContentTokenLogProbabilities;
        Assert.Equal(8, tokens.Count);
        Assert.Equal(completion.Content.Single().Text, string.Concat(tokens.Select(t => t.Token)));
        foreach (var t in tokens)
        {
            Assert.Equal(3, t.TopLogProbabilities.Count);
            Assert.Equal(t.Token, t.TopLogProbabilities[0].Token); // greedy picks the most likely
            Assert.Equal(t.LogProbability, t.TopLogProbabilities[0].LogProbability);
            Assert.True(t.LogProbability <= 0 && t.TopLogProbabilities[1].LogProbability <= t.LogProbability);
        }
    }
}
