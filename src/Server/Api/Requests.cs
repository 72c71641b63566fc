using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaAot.Server.Api;

// Request bodies as OpenAI's API and llama-server define them, read by the source-generated ServerJson (snake_case
// names). A field of the wrong JSON type fails the read (400); fields not listed here are ignored, since clients send
// new ones. Everything is optional at this level: what a request must have is checked where it is used.

/// <summary>The fields <c>/v1/chat/completions</c> and <c>/v1/completions</c> share: sampling and output.</summary>
internal abstract class GenerationBody
{
    public string? Model { get; set; }
    public bool? Stream { get; set; }
    public StreamOptionsBody? StreamOptions { get; set; }
    public int? N { get; set; }
    public float? Temperature { get; set; }
    public float? TopP { get; set; }
    public int? TopK { get; set; }
    public float? MinP { get; set; }
    public float? PresencePenalty { get; set; }
    public float? FrequencyPenalty { get; set; }

    /// <summary>llama-server's: divides repeated tokens' logits (1 = off).</summary>
    public float? RepeatPenalty { get; set; }

    /// <summary>llama-server's: tokens the penalties look back over.</summary>
    public int? RepeatLastN { get; set; }

    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }

    /// <summary>llama-server's name for max_tokens.</summary>
    public int? NPredict { get; set; }

    /// <summary>A string or an array of strings.</summary>
    public JsonElement? Stop { get; set; }

    public long? Seed { get; set; }

    /// <summary>llama-server's: keep generating past end-of-generation tokens (they are never sampled).</summary>
    public bool? IgnoreEos { get; set; }

    /// <summary><c>{"type": "text" | "json_object" | "json_schema", ...}</c>.</summary>
    public JsonElement? ResponseFormat { get; set; }

    /// <summary>llama-server's: a GBNF grammar the output must follow.</summary>
    public string? Grammar { get; set; }

    /// <summary>llama-server's: a JSON schema the output must follow.</summary>
    public JsonElement? JsonSchema { get; set; }
}

internal sealed class StreamOptionsBody
{
    public bool? IncludeUsage { get; set; }
}

internal sealed class ChatCompletionBody : GenerationBody
{
    public JsonArray? Messages { get; set; }
    public JsonArray? Tools { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
}

internal sealed class CompletionBody : GenerationBody
{
    /// <summary>A string, an array holding one string, or an array of token ids.</summary>
    public JsonElement? Prompt { get; set; }

    /// <summary>Alternatives to report with each token's log-probability (0 to 5); absent for none.</summary>
    public int? Logprobs { get; set; }
}

internal sealed class TokenizeBody
{
    public string? Content { get; set; }
    public bool? AddSpecial { get; set; }
    public bool? ParseSpecial { get; set; }
    public bool? WithPieces { get; set; }
}

internal sealed class DetokenizeBody
{
    public int[]? Tokens { get; set; }
}

internal sealed class ApplyTemplateBody
{
    public JsonArray? Messages { get; set; }
    public JsonArray? Tools { get; set; }
}
