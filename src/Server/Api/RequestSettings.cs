using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaAot.Diagnostics;
using LlamaAot.Sampling;

namespace LlamaAot.Server.Api;

/// <summary>
/// A request's fields turned into llama-aot's settings, with llama-server's defaults where a field is absent (its
/// sampling defaults are llama.cpp's: temperature 0.8, top_k 40, top_p 0.95, min_p 0.05) and its meanings of edge
/// values (top_k 0 or less and top_p 1 or more are off, max_tokens -1 is unlimited). A value out of range is 400.
/// </summary>
internal static class RequestSettings
{
    public static GenerationOptions Generation(GenerationBody body)
    {
        if (body.N is { } n && n != 1)
            throw ApiException.BadRequest($"'n' must be 1, not {n}: llama-aot generates one choice per request");
        int maxTokens = body.MaxCompletionTokens ?? body.MaxTokens ?? body.NPredict ?? -1;
        if (maxTokens < -1)
            throw ApiException.BadRequest($"'max_tokens' must be -1 (no limit) or more, not {maxTokens}");
        if (body.Seed is { } seed && (seed < -1 || seed > uint.MaxValue))
            throw ApiException.BadRequest($"'seed' must be from -1 (random) to {uint.MaxValue}, not {seed}");
        var defaults = new SamplingOptions();
        SamplingOptions sampling;
        try
        {
            sampling = new SamplingOptions
            {
                Temperature = body.Temperature ?? defaults.Temperature,
                TopK = Math.Max(0, body.TopK ?? defaults.TopK),
                TopP = body.TopP is { } p ? (p >= 1f ? 1f : p <= 0f ? float.Epsilon : p) : defaults.TopP,
                MinP = Math.Clamp(body.MinP ?? defaults.MinP, 0f, 1f),
                PresencePenalty = body.PresencePenalty ?? defaults.PresencePenalty,
                FrequencyPenalty = body.FrequencyPenalty ?? defaults.FrequencyPenalty,
                RepeatPenalty = body.RepeatPenalty ?? defaults.RepeatPenalty,
                RepeatLastN = body.RepeatLastN ?? defaults.RepeatLastN,
                Seed = body.Seed is { } s and >= 0 and < uint.MaxValue ? (uint)s : null,
                Grammar = OutputGrammar(body),
            };
        }
        catch (ArgumentOutOfRangeException e)
        {
            // SamplingOptions names its property and rule; the request names fields in snake_case.
            throw ApiException.BadRequest($"a sampling field is out of range: {e.Message.Split(" (Parameter", 2)[0]}");
        }
        return new GenerationOptions { MaxTokens = maxTokens, Stop = Stops(body.Stop), Sampling = sampling, IgnoreEos = body.IgnoreEos ?? false };
    }

    /// <summary>OpenAI's <c>stop</c>: a string, an array of strings, or null.</summary>
    private static string[] Stops(JsonElement? stop)
    {
        if (stop is not { } value || value.ValueKind == JsonValueKind.Null)
            return [];
        if (value.ValueKind == JsonValueKind.String)
            return [value.GetString()!];
        if (value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            return [.. value.EnumerateArray().Select(e => e.GetString()!).Where(s => s.Length > 0)];
        throw ApiException.BadRequest("'stop' must be a string or an array of strings");
    }

    /// <summary>
    /// The grammar the output must follow: <c>response_format</c> json_object (any JSON value, or its <c>schema</c>) or
    /// json_schema (<c>json_schema.schema</c>), or llama-server's <c>grammar</c> (GBNF) or <c>json_schema</c>; at most one.
    /// </summary>
    private static Grammar? OutputGrammar(GenerationBody body)
    {
        var given = new List<(string Field, Func<Grammar> Make)>();
        if (body.ResponseFormat is { ValueKind: not JsonValueKind.Null } format)
        {
            if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                throw ApiException.BadRequest("'response_format' must be an object with a string 'type'");
            switch (type.GetString())
            {
                case "text":
                    break;
                case "json_object":
                    string schema = format.TryGetProperty("schema", out var s) && s.ValueKind == JsonValueKind.Object ? s.GetRawText() : "{}";
                    given.Add(("response_format", () => Grammar.FromJsonSchema(schema)));
                    break;
                case "json_schema":
                    if (!format.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object
                        || !js.TryGetProperty("schema", out var inner) || inner.ValueKind != JsonValueKind.Object)
                        throw ApiException.BadRequest("'response_format' of type json_schema needs 'json_schema': {\"schema\": {...}}");
                    string text = inner.GetRawText();
                    given.Add(("response_format", () => Grammar.FromJsonSchema(text)));
                    break;
                default:
                    throw ApiException.BadRequest($"'response_format' type must be text, json_object or json_schema, not {Excerpt.Quote(type.GetString()!)}");
            }
        }
        if (body.Grammar is { } gbnf)
            given.Add(("grammar", () => Grammar.Parse(gbnf)));
        if (body.JsonSchema is { ValueKind: JsonValueKind.Object } jsonSchema)
        {
            string text = jsonSchema.GetRawText();
            given.Add(("json_schema", () => Grammar.FromJsonSchema(text)));
        }
        else if (body.JsonSchema is { ValueKind: not JsonValueKind.Null })
            throw ApiException.BadRequest("'json_schema' must be an object");
        if (given.Count == 0)
            return null;
        if (given.Count > 1)
            throw ApiException.BadRequest($"give one output constraint, not {string.Join(" and ", given.Select(g => g.Field))}");
        try
        {
            return given[0].Make();
        }
        catch (GrammarException e)
        {
            throw ApiException.BadRequest($"'{given[0].Field}': {e.Message}");
        }
    }

    /// <summary>
    /// The messages as chat templates take them: a content given as an array of parts becomes its text parts joined by
    /// newlines (llama.cpp's concatenation for templates without typed content); any other part is refused; a null or
    /// absent content is "".
    /// </summary>
    public static JsonArray Messages(JsonArray? messages)
    {
        if (messages is null)
            throw ApiException.BadRequest("'messages' is required");
        if (messages.Count == 0)
            throw ApiException.BadRequest("'messages' must not be empty");
        var copy = (JsonArray)messages.DeepClone();
        for (int i = 0; i < copy.Count; i++)
        {
            if (copy[i] is not JsonObject message)
                throw ApiException.BadRequest($"messages[{i}] must be an object");
            // llama.cpp's reading (common_chat_msgs_parse_oaicompat): a message has content or tool calls; a null or
            // absent content (an assistant's tool calls, as OpenAI clients send them) reaches the template as "".
            if (!message.ContainsKey("content") && !message.ContainsKey("tool_calls"))
                throw ApiException.BadRequest($"messages[{i}] needs 'content' or 'tool_calls'");
            if (message["content"] is null)
            {
                message["content"] = "";
                continue;
            }
            if (message["content"] is not JsonArray parts)
                continue;
            var text = new List<string>();
            foreach (var part in parts)
            {
                if (part is JsonObject p && p["type"]?.GetValueKind() == JsonValueKind.String && (string?)p["type"] == "text"
                    && p["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String)
                    text.Add((string)t!);
                else
                    throw ApiException.BadRequest($"messages[{i}].content: only text parts ({{\"type\": \"text\", \"text\": ...}}) are supported");
            }
            message["content"] = string.Join('\n', text);
        }
        return copy;
    }
}
