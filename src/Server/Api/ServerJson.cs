using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlamaAot.Server.Api;

/// <summary>
/// Every type the server reads or writes as JSON, serialized by generated code (no reflection, NativeAOT-safe):
/// snake_case names as OpenAI's API, strict types (a number sent as a string is an error), unknown fields ignored.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, MaxDepth = ServerJson.MaxDepth)]
[JsonSerializable(typeof(ChatCompletionBody))]
[JsonSerializable(typeof(CompletionBody))]
[JsonSerializable(typeof(TokenizeBody))]
[JsonSerializable(typeof(DetokenizeBody))]
[JsonSerializable(typeof(ApplyTemplateBody))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatChunk))]
[JsonSerializable(typeof(TextCompletion))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(HealthStatus))]
[JsonSerializable(typeof(TokenIds))]
[JsonSerializable(typeof(TokenPieces))]
[JsonSerializable(typeof(DetokenizedText))]
[JsonSerializable(typeof(TemplatePrompt))]
internal sealed partial class ServerJson : JsonSerializerContext
{
    /// <summary>Most nested arrays and objects a request may hold (System.Text.Json's default).</summary>
    public const int MaxDepth = 64;

    /// <summary>
    /// The context the server uses: as <see cref="JsonSerializerContext"/>'s Default, but writing text as OpenAI's API
    /// does, quotes and non-ASCII characters as they are rather than as \u escapes meant for HTML pages.
    /// </summary>
    public static ServerJson Api { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        MaxDepth = MaxDepth,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
