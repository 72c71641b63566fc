using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LlamaAot.Server.Api;
using LlamaAot.Server.Scheduling;
using Microsoft.AspNetCore.Http;

namespace LlamaAot.Server.Endpoints;

/// <summary>Server-sent events: <c>data: JSON</c> and a blank line per event, flushed at once, each write under the timeout.</summary>
internal sealed class EventWriter(Stream body, CancellationTokenSource cancel, TimeSpan timeout)
{
    private static readonly byte[] Data = "data: "u8.ToArray(), End = "\n\n"u8.ToArray(), Done = "data: [DONE]\n\n"u8.ToArray();
    private readonly MemoryStream _buffer = new();

    public async Task WriteAsync<T>(T value, JsonTypeInfo<T> type)
    {
        _buffer.SetLength(0);
        _buffer.Write(Data);
        JsonSerializer.Serialize(_buffer, value, type);
        _buffer.Write(End);
        await SendAsync(_buffer.GetBuffer().AsMemory(0, (int)_buffer.Length));
    }

    public Task WriteDoneAsync() => SendAsync(Done);

    private async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        cancel.CancelAfter(timeout);
        await body.WriteAsync(bytes, cancel.Token);
        await body.FlushAsync(cancel.Token);
        cancel.CancelAfter(Timeout.InfiniteTimeSpan);
    }
}

/// <summary>The shape of a completion endpoint's answer: whole, or as a stream of chunks.</summary>
internal interface IOutput
{
    Task WriteWholeAsync(HttpContext http, string text, List<TokenLogprob>? logprobs, SlotFinish finish);

    Task WriteStartAsync(EventWriter sse);

    Task WriteDeltaAsync(EventWriter sse, string text, TokenLogprob? logprob);

    Task WriteFinishAsync(EventWriter sse, SlotFinish finish, bool includeUsage);
}

/// <summary>Answers of <c>/v1/chat/completions</c>: <c>chat.completion</c>, or <c>chat.completion.chunk</c> events.</summary>
internal sealed class ChatOutput(string model) : IOutput
{
    private readonly string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public Task WriteWholeAsync(HttpContext http, string text, List<TokenLogprob>? logprobs, SlotFinish finish)
    {
        var choice = new ChatChoice(0, new ChatMessage("assistant", text), logprobs is null ? null : Logprobs(logprobs), finish.Reason);
        return HttpJson.WriteAsync(http, new ChatCompletion(_id, "chat.completion", _created, model, [choice], Usage(finish)), ServerJson.Api.ChatCompletion);
    }

    // OpenAI's first chunk gives the role and empty content.
    public Task WriteStartAsync(EventWriter sse) => Chunk(sse, new ChatDelta("assistant", ""), null, null);

    public Task WriteDeltaAsync(EventWriter sse, string text, TokenLogprob? logprob) =>
        Chunk(sse, new ChatDelta(null, text), logprob is null ? null : Logprobs([logprob]), null);

    public async Task WriteFinishAsync(EventWriter sse, SlotFinish finish, bool includeUsage)
    {
        await Chunk(sse, new ChatDelta(null, null), null, finish.Reason);
        if (includeUsage)
            await sse.WriteAsync(new ChatChunk(_id, "chat.completion.chunk", _created, model, [], Usage(finish)), ServerJson.Api.ChatChunk);
    }

    private Task Chunk(EventWriter sse, ChatDelta delta, ChatLogprobs? logprobs, string? finishReason) =>
        sse.WriteAsync(new ChatChunk(_id, "chat.completion.chunk", _created, model, [new ChatChunkChoice(0, delta, logprobs, finishReason)], null), ServerJson.Api.ChatChunk);

    private static ChatLogprobs Logprobs(IEnumerable<TokenLogprob> tokens) =>
        new([.. tokens.Select(t => new ChatTokenLogprob(t.Token, t.Logprob, Bytes(t.Bytes), [.. t.Top.Select(a => new ChatTopLogprob(a.Token, a.Logprob, Bytes(a.Bytes)))]))]);

    private static int[] Bytes(byte[] bytes) => [.. bytes.Select(b => (int)b)];

    internal static Usage Usage(SlotFinish f) => new(f.PromptTokens, f.CompletionTokens, f.PromptTokens + f.CompletionTokens);
}

/// <summary>Answers of <c>/v1/completions</c>: <c>text_completion</c>, whole or as events of the same shape.</summary>
internal sealed class TextOutput(string model) : IOutput
{
    private readonly string _id = "cmpl-" + Guid.NewGuid().ToString("N");
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private int _offset;

    public Task WriteWholeAsync(HttpContext http, string text, List<TokenLogprob>? logprobs, SlotFinish finish)
    {
        var choice = new TextChoice(text, 0, logprobs is null ? null : Logprobs(logprobs), finish.Reason);
        return HttpJson.WriteAsync(http, new TextCompletion(_id, "text_completion", _created, model, [choice], ChatOutput.Usage(finish)), ServerJson.Api.TextCompletion);
    }

    public Task WriteStartAsync(EventWriter sse) => Task.CompletedTask;

    public Task WriteDeltaAsync(EventWriter sse, string text, TokenLogprob? logprob) =>
        Chunk(sse, text, logprob is null ? null : Logprobs([logprob]), null, null);

    public async Task WriteFinishAsync(EventWriter sse, SlotFinish finish, bool includeUsage)
    {
        await Chunk(sse, "", null, finish.Reason, null);
        if (includeUsage)
            await sse.WriteAsync(new TextCompletion(_id, "text_completion", _created, model, [], ChatOutput.Usage(finish)), ServerJson.Api.TextCompletion);
    }

    private Task Chunk(EventWriter sse, string text, TextLogprobs? logprobs, string? finishReason, Usage? usage) =>
        sse.WriteAsync(new TextCompletion(_id, "text_completion", _created, model, [new TextChoice(text, 0, logprobs, finishReason)], usage), ServerJson.Api.TextCompletion);

    /// <summary>The legacy logprobs object: parallel arrays, text offsets counted in characters from the start of the answer.</summary>
    private TextLogprobs Logprobs(IReadOnlyList<TokenLogprob> tokens)
    {
        var offsets = new int[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
        {
            offsets[i] = _offset;
            _offset += tokens[i].Token.Length;
        }
        return new TextLogprobs(
            [.. tokens.Select(t => t.Token)],
            [.. tokens.Select(t => t.Logprob)],
            [.. tokens.Select(t => t.Top.GroupBy(a => a.Token).ToDictionary(g => g.Key, g => g.First().Logprob))],
            offsets);
    }
}
