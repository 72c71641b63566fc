using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using LlamaAot.Sampling;
using Microsoft.Extensions.AI;

namespace LlamaAot.Chat;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over a context: .NET code written against the abstraction runs
/// on llama-aot. Each request renders its messages with the model's chat template and runs on one of the context's
/// sessions (the one whose cache shares the longest start with the prompt, so a conversation resent turn after turn
/// evaluates only its new tokens); requests beyond the context's <see cref="LlamaContext.Sequences"/> wait for a
/// session. <see cref="ChatOptions"/> maps to llama-aot's: Temperature, TopP, TopK, MaxOutputTokens, StopSequences,
/// Seed, FrequencyPenalty, PresencePenalty; Instructions become a system message; ResponseFormat JSON constrains the
/// answer to JSON (with a schema: to that schema, converted to a grammar as llama-server converts json_schema; without:
/// any JSON value, as llama-server's json_object). Tools are not supported (tool calls are not parsed out of answers):
/// a request that offers tools, unless its ToolMode is <see cref="ChatToolMode.None"/>, or whose messages hold anything
/// but text (a function call or result, an image, a file) throws <see cref="NotSupportedException"/> rather than
/// answering as if they were not there.
/// </summary>
public sealed class LlamaChatClient : IChatClient
{
    private readonly LlamaContext _context;
    private readonly ChatPrompt _prompt;
    private readonly SemaphoreSlim _free;
    private readonly List<LlamaSession> _idle = [];
    private readonly ChatClientMetadata _metadata;

    /// <param name="context">The engine; the client makes sessions on it, up to its <see cref="LlamaContext.Sequences"/>.</param>
    /// <param name="prompt">How messages become tokens; null for the model's chat template.</param>
    public LlamaChatClient(LlamaContext context, ChatPrompt? prompt = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _prompt = prompt ?? new ChatPrompt(context.Model);
        _free = new SemaphoreSlim(context.Sequences);
        _metadata = new ChatClientMetadata("llama-aot", null, Path.GetFileName(context.Model.Path));
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options is { Tools.Count: > 0 } && options.ToolMode is not NoneChatToolMode)
            throw new NotSupportedException(
                $"{nameof(LlamaChatClient)} cannot call tools (it does not parse tool calls out of answers), and ChatOptions.Tools offers {options.Tools.Count}: remove them, or set ChatOptions.ToolMode to ChatToolMode.None");
        int[] prompt = _prompt.Tokenize(ToJson(messages, options?.Instructions));
        var generation = Generation(options);
        string responseId = Guid.NewGuid().ToString("N");
        await _free.WaitAsync(cancellationToken).ConfigureAwait(false);
        LlamaSession session;
        try
        {
            session = Take(prompt);
        }
        catch
        {
            _free.Release();
            throw;
        }
        try
        {
            await foreach (var token in session.GenerateTokensAsync(prompt, generation, cancellationToken).ConfigureAwait(false))
            {
                if (token.Text.Length > 0)
                    yield return new ChatResponseUpdate(ChatRole.Assistant, token.Text) { ResponseId = responseId, ModelId = _metadata.DefaultModelId };
            }
            var stats = session.LastStats!;
            if (stats.StopReason == StopReason.Cancelled)
                cancellationToken.ThrowIfCancellationRequested();
            var usage = new UsageDetails { InputTokenCount = prompt.Length, OutputTokenCount = stats.GeneratedTokens, TotalTokenCount = prompt.Length + stats.GeneratedTokens };
            yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(usage)])
            {
                ResponseId = responseId,
                ModelId = _metadata.DefaultModelId,
                FinishReason = stats.StopReason is StopReason.MaxTokens or StopReason.ContextFull ? ChatFinishReason.Length : ChatFinishReason.Stop,
            };
        }
        finally
        {
            lock (_idle)
                _idle.Add(session);
            _free.Release();
        }
    }

    /// <summary>An idle session, the one whose cache starts with the longest part of <paramref name="prompt"/>, or a new one.</summary>
    private LlamaSession Take(int[] prompt)
    {
        lock (_idle)
        {
            if (_idle.Count == 0)
                return _context.CreateSession();
            var best = _idle.MaxBy(s => s.Tokens.CommonPrefixLength(prompt))!;
            _idle.Remove(best);
            return best;
        }
    }

    private static JsonArray ToJson(IEnumerable<ChatMessage> messages, string? instructions)
    {
        var array = new JsonArray();
        if (!string.IsNullOrEmpty(instructions))
            array.Add((JsonNode)new JsonObject { ["role"] = "system", ["content"] = instructions });
        foreach (var m in messages)
        {
            // Text is what the template renders; reasoning is left out of the history, as chat templates leave it, and
            // usage is about the answer, not in it. Anything else would be lost without a word.
            if (m.Contents.FirstOrDefault(c => c is not (TextContent or TextReasoningContent or UsageContent)) is { } other)
                throw new NotSupportedException(
                    $"{nameof(LlamaChatClient)} renders text only, and a {m.Role} message holds {other.GetType().Name}: remove it, or give it as text");
            array.Add((JsonNode)new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text });
        }
        return array;
    }

    /// <summary>llama-aot's settings for <paramref name="options"/>: llama.cpp's defaults where a value is not given.</summary>
    internal static GenerationOptions Generation(ChatOptions? options)
    {
        if (options is null)
            return new GenerationOptions();
        if (options.Seed is < 0 or > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(options), options.Seed, $"ChatOptions.Seed must be from 0 to {uint.MaxValue}");
        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions
        {
            Temperature = options.Temperature ?? defaults.Temperature,
            TopP = options.TopP ?? defaults.TopP,
            TopK = options.TopK ?? defaults.TopK,
            Seed = (uint?)options.Seed,
            FrequencyPenalty = options.FrequencyPenalty ?? defaults.FrequencyPenalty,
            PresencePenalty = options.PresencePenalty ?? defaults.PresencePenalty,
            Grammar = options.ResponseFormat is ChatResponseFormatJson json
                ? Grammar.FromJsonSchema(json.Schema is { } schema ? schema.GetRawText() : "{}")
                : null,
        };
        return new GenerationOptions
        {
            MaxTokens = options.MaxOutputTokens ?? -1,
            Stop = options.StopSequences is { } stop ? [.. stop] : [],
            Sampling = sampling,
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(LlamaContext) ? _context
            : null;
    }

    /// <summary>Gives the sessions back to the context (the context itself is the caller's to dispose).</summary>
    public void Dispose()
    {
        lock (_idle)
        {
            foreach (var s in _idle)
                s.Dispose();
            _idle.Clear();
        }
        _free.Dispose();
    }
}
