using System.Text.Json.Serialization;

namespace LlamaAot.Server.Api;

// Response bodies in OpenAI's shapes (and llama-server's for its own endpoints), written by the source-generated
// ServerJson with snake_case names. Fields OpenAI always sends, null or not (finish_reason, logprobs), are always
// written; optional ones are left out when null.

internal sealed record Usage(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record ChatCompletion(string Id, string Object, long Created, string Model, ChatChoice[] Choices, Usage Usage)
{
    public string SystemFingerprint => ServerInfo.Fingerprint;
}

internal sealed record ChatChoice(int Index, ChatMessage Message, ChatLogprobs? Logprobs, string? FinishReason);

internal sealed record ChatMessage(string Role, string Content);

internal sealed record ChatChunk(
    string Id, string Object, long Created, string Model, ChatChunkChoice[] Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage)
{
    public string SystemFingerprint => ServerInfo.Fingerprint;
}

internal sealed record ChatChunkChoice(int Index, ChatDelta Delta, ChatLogprobs? Logprobs, string? FinishReason);

internal sealed record ChatDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

internal sealed record ChatLogprobs(ChatTokenLogprob[] Content);

internal sealed record ChatTokenLogprob(string Token, float Logprob, int[] Bytes, ChatTopLogprob[] TopLogprobs);

internal sealed record ChatTopLogprob(string Token, float Logprob, int[] Bytes);

internal sealed record TextCompletion(
    string Id, string Object, long Created, string Model, TextChoice[] Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Usage? Usage)
{
    public string SystemFingerprint => ServerInfo.Fingerprint;
}

internal sealed record TextChoice(string Text, int Index, TextLogprobs? Logprobs, string? FinishReason);

internal sealed record TextLogprobs(string[] Tokens, float[] TokenLogprobs, Dictionary<string, float>[] TopLogprobs, int[] TextOffset);

internal sealed record ModelList(string Object, ModelEntry[] Data);

internal sealed record ModelEntry(string Id, string Object, long Created, string OwnedBy);

internal sealed record ErrorResponse(ErrorBody Error);

internal sealed record ErrorBody(int Code, string Message, string Type)
{
    /// <summary>With exceed_context_size_error, as llama-server: the prompt's tokens and the slot's context.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? NPromptTokens { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? NCtx { get; init; }
}

internal sealed record HealthStatus(string Status);

internal sealed record TokenIds(int[] Tokens);

internal sealed record TokenPieces(TokenPiece[] Tokens);

internal sealed record TokenPiece(int Id, string Piece);

internal sealed record DetokenizedText(string Content);

internal sealed record TemplatePrompt(string Prompt);

/// <summary>What every response says about the server.</summary>
internal static class ServerInfo
{
    /// <summary>OpenAI's system_fingerprint: the build that answered.</summary>
    public static string Fingerprint { get; } = "llama-aot-" + (typeof(ServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0");
}
