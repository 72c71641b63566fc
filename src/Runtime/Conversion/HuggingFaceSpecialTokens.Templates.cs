using System.Text;
using System.Text.Json;
using LlamaAot.Diagnostics;
using LlamaAot.Gguf;

namespace LlamaAot.Conversion;

/// <summary>The post-processor's BOS/EOS/SEP and the chat templates, as SpecialVocab reads them.</summary>
internal sealed partial class HuggingFaceSpecialTokens
{
    /// <summary>
    /// What tokenizer.json's post-processor adds (SpecialVocab's "crude parsing", which it says gets unusual templates
    /// wrong: so does this, the same way). RobertaProcessing adds BOS, EOS and SEP. TemplateProcessing's single template
    /// adds BOS when it starts with the BOS (or CLS) token, EOS when it ends with the EOS token; a single template ending
    /// in another token makes that token EOS and the old EOS an end-of-turn (then end-of-message) token; its pair template
    /// adds SEP when the token between A and B is SEP or EOS. Where tokenizer_config.json names no BOS (EOS, CLS, SEP),
    /// the template's token becomes it.
    /// </summary>
    private void ReadPostProcessor(JsonElement tokenizer)
    {
        JsonElement? bos = Config("bos_token"), cls = Config("cls_token"), eos = Config("eos_token"), sep = Config("sep_token");
        bool hasConfig = _tokenizerConfig is not null;
        if (!Truthy(bos) && Truthy(cls) && hasConfig)
            SetConfig("bos_token", bos = cls);
        if (!Truthy(eos) && Truthy(sep) && hasConfig)
            SetConfig("eos_token", eos = sep);
        if (!JsonFile.TryGet(tokenizer, "post_processor", out var post) || !Truthy(post))
            return;
        IEnumerable<JsonElement> processors = post.ValueKind == JsonValueKind.Object && post.TryGetProperty("processors", out var list)
            ? list.ValueKind == JsonValueKind.Array ? list.EnumerateArray() : []
            : [post];
        foreach (var processor in processors.Where(p => p.ValueKind == JsonValueKind.Object))
        {
            string? type = processor.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type == "RobertaProcessing")
            {
                SetAdd("bos", true);
                SetAdd("eos", true);
                SetAdd("sep", true);
                if (!Truthy(cls) && hasConfig)
                    SetConfig("cls_token", cls = First(processor, "cls") ?? bos);
                if (!Truthy(sep) && hasConfig)
                    SetConfig("sep_token", sep = First(processor, "sep") ?? eos);
            }
            else if (type == "TemplateProcessing")
            {
                var single = Items(processor, "single");
                var pair = Items(processor, "pair");
                string? first = null, last = null;
                if (single.Count > 1)
                {
                    if ((first = SpecialTokenId(single[0])) is { Length: > 0 })
                    {
                        if (!hasConfig)
                        {
                            bos = Text(first);
                        }
                        else if (!Is(bos, first) && !Is(cls, first))
                        {
                            if (!Truthy(bos))
                                SetConfig("bos_token", bos = Text(first));
                            if (!Truthy(cls))
                                SetConfig("cls_token", cls = Text(first));
                        }
                        SetAdd("bos", Is(bos, first) || Is(cls, first));
                    }
                    if ((last = SpecialTokenId(single[^1])) is { Length: > 0 })
                    {
                        if (!hasConfig)
                        {
                            eos = Text(last);
                        }
                        else if (!Is(eos, last))
                        {
                            if (EndOfTurnKinds.FirstOrDefault(k => !_kinds.Exists(x => x.Kind == k.Kind)) is { Kind: not null } next)
                            {
                                _kinds.Add(next);
                                SetConfig($"{next.Kind}_token", eos);
                            }
                            SetConfig("eos_token", eos = Text(last));
                        }
                        SetAdd("eos", Is(eos, last));
                    }
                }
                if (pair.Count > 0)
                {
                    int start = first is { Length: > 0 } && SpecialTokenId(pair[0]) == first ? 1 : 0;
                    int stop = last is { Length: > 0 } && SpecialTokenId(pair[^1]) == last ? pair.Count - 1 : pair.Count;
                    var between = pair.Take(stop).Skip(start).ToList();
                    if (between.Count > 0 && SequenceId(between[0]) == "A" && SequenceId(between[^1]) == "B" && between.Count > 2)
                    {
                        between = between[1..^1];
                        bool addSep = false;
                        if (SpecialTokenId(between[0]) is { Length: > 0 } entry && (Is(sep, entry) || Is(eos, entry)) && last is not { Length: > 0 })
                            addSep = true;
                        if (between.Count == 2 && SpecialTokenId(between[1]) is { Length: > 0 } second && (Is(sep, second) || Is(eos, second)))
                            addSep = true;
                        SetAdd("sep", addSep);
                        if (addSep && !Truthy(sep) && hasConfig)
                            SetConfig("sep_token", eos);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The chat template: tokenizer_config.json's <c>chat_template</c> when it has the key (null there means none),
    /// else chat_template.jinja (with additional_chat_templates/*.jinja as named ones), else chat_template.json's. A
    /// list of named templates gives <c>tokenizer.chat_template.NAME</c> keys, their names in
    /// <c>tokenizer.chat_templates</c>, and the one named "default" as <c>tokenizer.chat_template</c>.
    /// </summary>
    public static List<KeyValuePair<string, GgufValue>> ReadChatTemplates(string directory, JsonElement? tokenizerConfig)
    {
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        var keys = new List<KeyValuePair<string, GgufValue>>();
        if (NonEmpty(tokenizerConfig) is not { } tc)
            return keys; // SpecialVocab looks for templates only beside a tokenizer_config.json with settings
        List<(string Name, string? Template)>? templates = null;
        if (tc.TryGetProperty("chat_template", out var own))
        {
            templates = Templates(own, configPath);
        }
        else if (File.Exists(Path.Combine(directory, "chat_template.jinja")))
        {
            templates = [("default", ReadText(Path.Combine(directory, "chat_template.jinja")))];
            string additional = Path.Combine(directory, "additional_chat_templates");
            if (Directory.Exists(additional))
            {
                foreach (string file in Directory.GetFiles(additional, "*.jinja").Order(StringComparer.Ordinal))
                    templates.Add((Path.GetFileNameWithoutExtension(file), ReadText(file)));
            }
        }
        else if (Path.Combine(directory, "chat_template.json") is var jsonPath && File.Exists(jsonPath))
        {
            using var document = JsonFile.Parse(jsonPath);
            if (JsonFile.Root(document, jsonPath).TryGetProperty("chat_template", out var value))
                templates = Templates(value, jsonPath);
        }

        if (templates is null)
            return keys;
        string? byDefault = null;
        var names = new List<string>();
        foreach (var (rawName, template) in templates)
        {
            // gguf-py keeps letters and digits of a name, other characters become '_'.
            string name = string.Concat(rawName.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_'));
            if (name.Length == 0 || template is null)
                continue;
            if (name == "default")
            {
                byDefault = template;
                continue;
            }
            if (names.Contains(name))
                throw new ConversionException($"{configPath}: two chat templates are named {Excerpt.Quote(name)}");
            names.Add(name);
            keys.Add(new($"tokenizer.chat_template.{name}", new GgufValue(GgufValueType.String, template)));
        }
        if (names.Count > 0)
            keys.Add(new("tokenizer.chat_templates", new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.String, names.ToArray()))));
        if (byDefault is not null)
            keys.Add(new("tokenizer.chat_template", new GgufValue(GgufValueType.String, byDefault)));
        return keys;
    }

    /// <summary>A chat_template value: a string is the default template, a list holds {name, template} objects; null
    /// or anything else is no template (SpecialVocab warns and goes on).</summary>
    private static List<(string Name, string? Template)>? Templates(JsonElement value, string path) => value.ValueKind switch
    {
        JsonValueKind.String => [("default", value.GetString())],
        JsonValueKind.Array => [.. value.EnumerateArray().Select((choice, i) =>
        {
            string what = $"chat_template[{i}]";
            JsonFile.Object(choice, path, what);
            string name = JsonFile.TryGet(choice, "name", out var n) ? JsonFile.String(n, path, $"the name of {what}") : "";
            string? template = JsonFile.TryGet(choice, "template", out var t) ? JsonFile.String(t, path, $"the template of {what}") : null;
            return (name, template);
        })],
        _ => null,
    };

    private static string ReadText(string path)
    {
        try
        {
            return File.ReadAllText(path, new UTF8Encoding(false, throwOnInvalidBytes: true));
        }
        catch (DecoderFallbackException)
        {
            throw new ConversionException($"{path}: not UTF-8 text");
        }
    }

    /// <summary>The elements of an array field (none when it is absent or not an array).</summary>
    private static List<JsonElement> Items(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array ? [.. v.EnumerateArray()] : [];

    /// <summary>The first element of a [token, id] field (RobertaProcessing's cls and sep), or null.</summary>
    private static JsonElement? First(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 ? v[0] : null;

    /// <summary>A template item's <c>{"SpecialToken": {"id": TEXT}}</c>, or null.</summary>
    private static string? SpecialTokenId(JsonElement item) => ItemId(item, "SpecialToken");

    /// <summary>A template item's <c>{"Sequence": {"id": "A"}}</c>, or null.</summary>
    private static string? SequenceId(JsonElement item) => ItemId(item, "Sequence");

    private static string? ItemId(JsonElement item, string kind) =>
        item.ValueKind == JsonValueKind.Object && item.TryGetProperty(kind, out var o) && o.ValueKind == JsonValueKind.Object
        && o.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
            ? id.GetString()
            : null;

    /// <summary>Python's truth of a JSON value: not null, false, 0, "", [] or {}.</summary>
    private static bool Truthy(JsonElement? v) => v is { } e && e.ValueKind switch
    {
        JsonValueKind.String => e.GetString()!.Length > 0,
        JsonValueKind.Object => e.EnumerateObject().Any(),
        JsonValueKind.Array => e.GetArrayLength() > 0,
        JsonValueKind.Number => e.GetDouble() != 0,
        JsonValueKind.True => true,
        _ => false,
    };

    /// <summary>Python's <c>value == text</c>: only a string can equal a string (an AddedToken object never does).</summary>
    private static bool Is(JsonElement? value, string text) => value is { ValueKind: JsonValueKind.String } s && s.GetString() == text;

    /// <summary>A string as a JSON value, to stand in tokenizer_config.json where SpecialVocab writes one there.</summary>
    private static JsonElement Text(string s)
    {
        using var document = JsonDocument.Parse($"\"{JsonEncodedText.Encode(s)}\"");
        return document.RootElement.Clone();
    }
}
