using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaAot.Chat.Jinja;
using LlamaAot.Gguf;

namespace LlamaAot.Chat;

/// <summary>How a conversation is rendered: generation prompt, special-token strings, clock and bounds.</summary>
public sealed record ChatTemplateOptions
{
    /// <summary>Ends the prompt with the assistant's turn header (<c>add_generation_prompt</c>).</summary>
    public bool AddGenerationPrompt { get; init; } = true;

    /// <summary>What the template sees as <c>bos_token</c> (a model's: its vocabulary's BOS text).</summary>
    public string BosToken { get; init; } = "";

    /// <summary>What the template sees as <c>eos_token</c>.</summary>
    public string EosToken { get; init; } = "";

    /// <summary>The time <c>strftime_now</c> formats; the local time when null. Fix it for reproducible prompts.</summary>
    public Func<DateTime>? Clock { get; init; }

    /// <summary>Bounds on the rendering (loop iterations, output size, macro depth).</summary>
    public JinjaLimits Limits { get; init; } = new();
}

/// <summary>
/// A model's chat template: turns a conversation (OpenAI-style messages as JSON: <c>role</c> system, user, assistant
/// or tool; <c>content</c> a string or a list of parts; <c>tool_calls</c>; tool results) and the tools on offer into the
/// prompt text, exactly as Hugging Face transformers' <c>apply_chat_template</c> renders it. A tool call's
/// <c>function.arguments</c> given as a JSON string reaches the template as an object, as llama.cpp passes it.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The GGUF key holding a model's template.</summary>
    public const string MetadataKey = "tokenizer.chat_template";

    /// <summary>llama.cpp's template for a model without one (common/chat.cpp, CHATML_TEMPLATE_SRC).</summary>
    public const string ChatMlSource =
        "{%- for message in messages -%}\n"
        + "  {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}\n"
        + "{%- endfor -%}\n"
        + "{%- if add_generation_prompt -%}\n"
        + "  {{- '<|im_start|>assistant\\n' -}}\n"
        + "{%- endif -%}";

    private readonly JinjaTemplate _template;

    /// <summary>Compiles <paramref name="source"/>; a template that does not compile throws <see cref="JinjaException"/>.</summary>
    public ChatTemplate(string source)
    {
        Source = source;
        _template = JinjaTemplate.Compile(source);
    }

    public string Source { get; }

    /// <summary>The model's template (<see cref="MetadataKey"/>), or llama.cpp's ChatML fallback when it has none.</summary>
    public static ChatTemplate FromGguf(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string? source = metadata.Contains(MetadataKey) ? metadata.GetString(MetadataKey) : null;
        return new ChatTemplate(string.IsNullOrEmpty(source) || source == "chatml" ? ChatMlSource : source);
    }

    /// <summary>
    /// Renders <paramref name="messages"/> (a JSON array of message objects) with <paramref name="tools"/> (a JSON
    /// array of tool definitions, or null: <c>tools</c> is then undefined in the template).
    /// </summary>
    /// <exception cref="ArgumentException">A message is not an object with a string <c>role</c>.</exception>
    /// <exception cref="JinjaException">The template raised or failed.</exception>
    public string Render(JsonArray messages, JsonArray? tools = null, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= new ChatTemplateOptions();
        var variables = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
        {
            ["messages"] = Normalize(messages),
            ["add_generation_prompt"] = options.AddGenerationPrompt,
            ["bos_token"] = options.BosToken,
            ["eos_token"] = options.EosToken,
        };
        // As the references were rendered: no tools leaves `tools` undefined (several templates loop over it unguarded).
        if (tools is not null)
            variables["tools"] = tools.DeepClone();
        return _template.Render(variables, options.Clock, options.Limits);
    }

    /// <summary>Renders messages and tools given as JSON text (an array each; tools may be null).</summary>
    /// <exception cref="ArgumentException">The text is not a JSON array of message objects.</exception>
    public string Render(string messagesJson, string? toolsJson = null, ChatTemplateOptions? options = null) =>
        Render(ParseArray(messagesJson, "messages"), toolsJson is null ? null : ParseArray(toolsJson, "tools"), options);

    /// <summary>Parses JSON text that must be an array (<paramref name="what"/> names it in the error).</summary>
    /// <exception cref="ArgumentException">The text is not JSON, or not an array.</exception>
    public static JsonArray ParseArray(string json, string what)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the {what} are not valid JSON: {e.Message}");
        }
        return node as JsonArray ?? throw new ArgumentException($"the {what} must be a JSON array, not {Kind(node)}");
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        _ => $"a {node.GetValueKind().ToString().ToLowerInvariant()}",
    };

    /// <summary>A copy of the messages, checked, with string tool-call arguments parsed into objects.</summary>
    private static JsonArray Normalize(JsonArray messages)
    {
        var copy = (JsonArray)messages.DeepClone();
        for (int i = 0; i < copy.Count; i++)
        {
            if (copy[i] is not JsonObject message)
                throw new ArgumentException($"messages[{i}] must be an object, not {Kind(copy[i])}");
            if (message["role"] is not JsonValue role || role.GetValueKind() != JsonValueKind.String)
                throw new ArgumentException($"messages[{i}] has no string \"role\"");
            if (message["tool_calls"] is not JsonArray calls)
                continue;
            foreach (var call in calls)
            {
                if (call is JsonObject { } c && c["function"] is JsonObject function && function["arguments"] is JsonValue arguments
                    && arguments.GetValueKind() == JsonValueKind.String)
                {
                    try
                    {
                        function["arguments"] = JsonNode.Parse(arguments.GetValue<string>());
                    }
                    catch (JsonException)
                    {
                        // Not JSON: the template gets the text as it is.
                    }
                }
            }
        }
        return copy;
    }
}
