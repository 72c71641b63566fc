using System.Globalization;
using System.Text.Json;
using LlamaAot.Diagnostics;
using LlamaAot.Gguf;

namespace LlamaAot.Conversion;

/// <summary>
/// What gguf-py's <c>SpecialVocab</c> reads beside a tokenizer.json (llama.cpp 0.5.0): the special token ids (from
/// tokenizer_config.json's <c>*_token</c> texts looked up among tokenizer.json's added tokens, else config.json's
/// <c>*_token_id</c>), whether BOS/EOS/SEP are added (tokenizer_config.json's <c>add_*_token</c>, else what
/// tokenizer.json's post-processor adds), the chat template, and the normalizer's lowercase / strip-accents flags;
/// as GGUF keys in the order it writes them.
/// </summary>
internal sealed partial class HuggingFaceSpecialTokens
{
    /// <summary>SpecialVocab's token kinds, in its order, and the GGUF key of each id (cls has none: it is not written).</summary>
    private static readonly (string Kind, string? Key)[] Kinds =
    [
        ("bos", "tokenizer.ggml.bos_token_id"),
        ("eos", "tokenizer.ggml.eos_token_id"),
        ("unk", "tokenizer.ggml.unknown_token_id"),
        ("sep", "tokenizer.ggml.seperator_token_id"), // ggml's spelling
        ("pad", "tokenizer.ggml.padding_token_id"),
        ("cls", null),
        ("mask", "tokenizer.ggml.mask_token_id"),
    ];

    /// <summary>The kinds a post-processor can add when its last token is not EOS (the old EOS moves there).</summary>
    private static readonly (string Kind, string Key)[] EndOfTurnKinds = [("eot", "tokenizer.ggml.eot_token_id"), ("eom", "tokenizer.ggml.eom_token_id")];

    /// <summary>The kinds whose add_*_token flag is written.</summary>
    private static readonly string[] AddedKinds = ["bos", "eos", "sep"];

    private readonly List<(string Kind, string? Key)> _kinds = [.. Kinds];
    private readonly List<KeyValuePair<string, long>> _ids = [];
    private readonly List<KeyValuePair<string, bool>> _add = [];
    private readonly Dictionary<string, JsonElement?> _configOverrides = new(StringComparer.Ordinal);
    private readonly JsonElement? _tokenizerConfig;
    private bool? _lowercase, _stripAccents;

    /// <summary>Every key, in SpecialVocab's order: ids, add flags, chat templates, normalizer flags.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> Keys { get; }

    /// <summary>The chat template keys alone.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> ChatTemplates { get; }

    /// <param name="tokenizer">tokenizer.json's root, if the directory has one.</param>
    /// <param name="tokenCount">The vocabulary's size: an id outside it is not written (llama.cpp would ignore it on
    /// load, llama-aot refuses it).</param>
    public HuggingFaceSpecialTokens(string directory, JsonElement? tokenizer, string tokenizerPath, JsonElement? tokenizerConfig,
        HuggingFaceConfig config, int tokenCount)
    {
        _tokenizerConfig = NonEmpty(tokenizerConfig);
        var added = new List<(string Content, int Id)>();
        if (tokenizer is { } t)
        {
            if (JsonFile.TryGet(t, "normalizer", out var normalizer))
                ReadNormalizer(normalizer);
            if (JsonFile.TryGet(t, "added_tokens", out var addedTokens) && addedTokens.ValueKind == JsonValueKind.Array)
            {
                foreach (var a in addedTokens.EnumerateArray())
                {
                    if (a.ValueKind == JsonValueKind.Object && a.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String
                        && a.TryGetProperty("id", out var id) && id.TryGetInt32(out int i))
                        added.Add((c.GetString()!, i));
                }
            }
            ReadPostProcessor(t);
        }
        ChatTemplates = ReadChatTemplates(directory, _tokenizerConfig);
        if (_tokenizerConfig is not null)
        {
            foreach (var (kind, _) in _kinds)
            {
                if (Config($"add_{kind}_token") is { ValueKind: JsonValueKind.True or JsonValueKind.False } flag)
                    SetAdd(kind, flag.GetBoolean());
                string? content = Config($"{kind}_token") switch
                {
                    { ValueKind: JsonValueKind.String } s => s.GetString(),
                    { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
                    _ => null,
                };
                // The first added token of that text; a text of the base vocabulary is not looked up.
                if (content is not null && added.FindIndex(a => a.Content == content) is >= 0 and var at)
                    SetId(kind, added[at].Id, tokenizerPath);
            }
        }
        foreach (var (kind, _) in _kinds)
        {
            // Python takes an int: a fraction is passed over, and so is a list (Llama 3.1's several EOS ids).
            if (config.Get($"{kind}_token_id") is { ValueKind: JsonValueKind.Number } id && id.TryGetInt64(out long i))
                SetId(kind, i, config.Path);
        }

        var keys = new List<KeyValuePair<string, GgufValue>>();
        foreach (var (kind, id) in _ids)
        {
            if (_kinds.Single(k => k.Kind == kind).Key is { } key && id < tokenCount)
                keys.Add(new(key, new GgufValue(GgufValueType.UInt32, (uint)id)));
        }
        foreach (var (kind, add) in _add)
        {
            if (AddedKinds.Contains(kind))
                keys.Add(new($"tokenizer.ggml.add_{kind}_token", new GgufValue(GgufValueType.Bool, add)));
        }
        keys.AddRange(ChatTemplates);
        if (_lowercase is { } lowercase)
            keys.Add(new("tokenizer.ggml.normalizer.lowercase", new GgufValue(GgufValueType.Bool, lowercase)));
        if (_stripAccents is { } stripAccents)
            keys.Add(new("tokenizer.ggml.normalizer.strip_accents", new GgufValue(GgufValueType.Bool, stripAccents)));
        Keys = keys;
    }

    /// <summary>tokenizer_config.json's settings, unless it is empty: SpecialVocab then reads none of them.</summary>
    private static JsonElement? NonEmpty(JsonElement? tokenizerConfig) =>
        tokenizerConfig is { ValueKind: JsonValueKind.Object } tc && tc.EnumerateObject().Any() ? tc : null;

    /// <summary>A tokenizer_config.json value (as SpecialVocab has rewritten it), or null when absent or null.</summary>
    private JsonElement? Config(string key) =>
        _configOverrides.TryGetValue(key, out var v) ? v
        : _tokenizerConfig is { } tc && JsonFile.TryGet(tc, key, out var value) ? value
        : null;

    private void SetConfig(string key, JsonElement? value)
    {
        if (_tokenizerConfig is not null)
            _configOverrides[key] = value;
    }

    /// <summary>The first id given for a kind stays; a negative one is refused, as SpecialVocab refuses it.</summary>
    private void SetId(string kind, long id, string source)
    {
        if (id < 0)
            throw new ConversionException(string.Create(CultureInfo.InvariantCulture, $"{source}: the {kind} token id {id} is negative"));
        if (!_ids.Exists(p => p.Key == kind))
            _ids.Add(new(kind, id));
    }

    /// <summary>A later flag replaces an earlier one where it stands (a Python dict's update).</summary>
    private void SetAdd(string kind, bool add)
    {
        int i = _add.FindIndex(p => p.Key == kind);
        if (i >= 0)
            _add[i] = new(kind, add);
        else
            _add.Add(new(kind, add));
    }

    /// <summary>Lowercase, StripAccents and BertNormalizer's flags, in a Sequence too.</summary>
    private void ReadNormalizer(JsonElement normalizer)
    {
        if (normalizer.ValueKind != JsonValueKind.Object || !normalizer.TryGetProperty("type", out var type))
            return;
        switch (type.ValueKind == JsonValueKind.String ? type.GetString() : null)
        {
            case "Lowercase":
                _lowercase = true;
                break;
            case "StripAccents":
                _stripAccents = true;
                break;
            case "BertNormalizer":
                if (normalizer.TryGetProperty("lowercase", out var lower))
                    _lowercase = lower.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null };
                if (normalizer.TryGetProperty("strip_accents", out var strip))
                    _stripAccents = strip.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null };
                break;
            case "Sequence":
                if (normalizer.TryGetProperty("normalizers", out var steps) && steps.ValueKind == JsonValueKind.Array)
                {
                    foreach (var step in steps.EnumerateArray())
                        ReadNormalizer(step);
                }
                break;
        }
    }
}
