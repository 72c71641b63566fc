using System.Text.Json;
using LlamaAot.Diagnostics;

namespace LlamaAot.Conversion;

/// <summary>
/// A Hugging Face <c>config.json</c>: the architecture it names (one of <see cref="HuggingFaceArchitecture.All"/>),
/// the sizes every architecture shares, and typed access to the rest for the architecture's own settings. A key
/// config.json leaves out takes transformers' default for that architecture (what the checkpoint means by leaving it
/// out). A multimodal config's <c>text_config</c> is read over the root, as convert_hf_to_gguf.py does. A value of the
/// wrong kind, out of range or missing without a default is a <see cref="ConversionException"/> naming the file and
/// the key.
/// </summary>
internal sealed class HuggingFaceConfig
{
    private readonly JsonElement _root;
    private readonly JsonElement? _text;

    /// <summary>The rope settings of full-attention layers: transformers 5's <c>rope_parameters</c> (its
    /// <c>full_attention</c> entry when it has one per layer type) or <c>rope_scaling</c>.</summary>
    private readonly JsonElement? _rope;
    private readonly string _ropeName;

    public string Path { get; }

    /// <summary>The <c>architectures</c> entry that chose the converter, e.g. "Gemma3ForCausalLM".</summary>
    public string HfArchitecture { get; }

    public HuggingFaceArchitecture Architecture { get; }

    public int VocabSize { get; }
    public int NEmbd { get; }
    public int NLayer { get; }
    public int NFf { get; }
    public int NHead { get; }
    public int NHeadKv { get; }

    /// <summary>Size of one attention head: head_dim, else the architecture's default, else n_embd / n_head.</summary>
    public int HeadDim { get; }

    /// <summary>Whether the head size is stated (config.json's head_dim or the architecture's default): the GGUF then
    /// records it as attention.key_length / value_length.</summary>
    public bool HeadDimStated { get; }

    public bool TieWordEmbeddings { get; }
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }

    /// <summary>The rope scaling type (rope_type, or the older type), or null for none ("default" is none).</summary>
    public string? RopeScalingType { get; }

    /// <summary>Width of the queries: nHead * headDim.</summary>
    public long QDim => (long)NHead * HeadDim;

    /// <summary>Width of K and of V: nHeadKv * headDim.</summary>
    public long KvDim => (long)NHeadKv * HeadDim;

    public static HuggingFaceConfig Read(string directory)
    {
        string path = System.IO.Path.Combine(directory, "config.json");
        if (!File.Exists(path))
            throw new ConversionException($"{directory}: no config.json: not a Hugging Face model directory");
        using var doc = JsonFile.Parse(path);
        return new HuggingFaceConfig(path, JsonFile.Root(doc, path).Clone());
    }

    private HuggingFaceConfig(string path, JsonElement root)
    {
        Path = path;
        _root = root;
        (HfArchitecture, Architecture) = FindArchitecture(path, root);
        if (JsonFile.TryGet(root, "text_config", out var text))
            _text = JsonFile.Object(text, path, "text_config");

        var defaults = Architecture.Defaults;
        NEmbd = Int("hidden_size");
        NHead = Int("num_attention_heads");
        NHeadKv = Int("num_key_value_heads", NHead);
        HeadDimStated = Has("head_dim") || defaults.HeadDim is not null;
        if (!HeadDimStated && NEmbd % NHead != 0)
            throw new ConversionException($"{path}: hidden_size {NEmbd} is not a multiple of num_attention_heads {NHead}");
        HeadDim = Int("head_dim", defaults.HeadDim ?? NEmbd / NHead);
        if (NHead % NHeadKv != 0)
            throw new ConversionException($"{path}: num_attention_heads {NHead} is not a multiple of num_key_value_heads {NHeadKv}");
        NLayer = Int("num_hidden_layers");
        NFf = Int("intermediate_size");
        VocabSize = Int("vocab_size");
        TieWordEmbeddings = Get("tie_word_embeddings") is { } tie
            ? tie.ValueKind is JsonValueKind.True or JsonValueKind.False ? tie.GetBoolean() : throw JsonFile.WrongKind(tie, path, "tie_word_embeddings", "true or false")
            : defaults.TiedEmbeddings;
        BosId = OptionalId("bos_token_id");
        EosId = OptionalId("eos_token_id");
        PadId = OptionalId("pad_token_id");

        _ropeName = Has("rope_parameters") ? "rope_parameters" : "rope_scaling";
        if (Get(_ropeName) is { } rope)
        {
            JsonFile.Object(rope, path, _ropeName);
            if (JsonFile.TryGet(rope, "full_attention", out var full))
            {
                _ropeName += ".full_attention";
                rope = JsonFile.Object(full, path, _ropeName);
            }
            _rope = rope;
            string typeKey = rope.TryGetProperty("rope_type", out _) ? "rope_type" : "type";
            if (JsonFile.TryGet(rope, typeKey, out var type))
                RopeScalingType = JsonFile.String(type, path, $"{_ropeName}.{typeKey}") is var t && t != "default" ? t : null;
        }
    }

    /// <summary>The first of config.json's <c>architectures</c> that llama-aot converts; a config without the list is
    /// read as llama's.</summary>
    private static (string, HuggingFaceArchitecture) FindArchitecture(string path, JsonElement root)
    {
        if (!JsonFile.TryGet(root, "architectures", out var archs))
            return ("LlamaForCausalLM", HuggingFaceArchitecture.All[0]);
        var names = JsonFile.Array(archs, path, "architectures").EnumerateArray()
            .Select((a, i) => JsonFile.String(a, path, $"architectures[{i}]")).ToList();
        foreach (string name in names)
        {
            if (HuggingFaceArchitecture.Find(name) is { } architecture)
                return (name, architecture);
        }
        throw new NotSupportedException(
            $"{path}: architecture {string.Join(", ", names.Take(3).Select(Excerpt.Quote))}{(names.Count > 3 ? $" (and {names.Count - 3} more)" : "")} " +
            $"is not supported; supported: {SupportedNames()}");
    }

    /// <summary>The architectures converted, short: "{Llama,Mistral,...}ForCausalLM,Gemma3ForConditionalGeneration".</summary>
    private static string SupportedNames()
    {
        const string causal = "ForCausalLM";
        var names = HuggingFaceArchitecture.All.SelectMany(a => a.HfNames).ToList();
        var causalNames = names.Where(n => n.EndsWith(causal, StringComparison.Ordinal)).Select(n => n[..^causal.Length]);
        return string.Join(",", [$"{{{string.Join(",", causalNames)}}}{causal}", .. names.Where(n => !n.EndsWith(causal, StringComparison.Ordinal))]);
    }

    /// <summary>The value of <paramref name="key"/> (text_config's over the root's, as Python's
    /// <c>{**config, **text_config}</c>), or null when it is absent or null, as transformers writes an unset option.</summary>
    public JsonElement? Get(string key) => JsonFile.TryGet(Holder(key), key, out var v) ? v : null;

    /// <summary>The object <paramref name="key"/> is read from: text_config when it has the key, else the root.</summary>
    private JsonElement Holder(string key) => _text is { } text && text.TryGetProperty(key, out _) ? text : _root;

    public bool Has(string key) => Get(key) is not null;

    /// <summary>A positive integer; <paramref name="fallback"/> when absent, else an error.</summary>
    public int Int(string key, int? fallback = null) => Positive(Get(key), key, fallback);

    /// <summary>A positive finite number, rounded to float32 as GGUF stores it.</summary>
    public float Float(string key, float? fallback = null) => ToFloat(Double(key, fallback), key);

    /// <summary>A positive finite number, as a double (Python's float).</summary>
    public double Double(string key, double? fallback = null) => Positive(Get(key), key, fallback);

    /// <summary>
    /// A setting of the rope scaling (<c>rope_scaling.KEY</c>), else of the root (convert_hf_to_gguf.py mirrors
    /// rope_theta, partial_rotary_factor and original_max_position_embeddings from the root into it), else
    /// <paramref name="fallback"/>.
    /// </summary>
    public double RopeDouble(string key, double? fallback = null) =>
        _rope is { } rope && JsonFile.TryGet(rope, key, out var v) ? Positive(v, $"{_ropeName}.{key}", (double?)null) : Double(key, fallback);

    public int RopeInt(string key, int? fallback = null) =>
        _rope is { } rope && JsonFile.TryGet(rope, key, out var v) ? Positive(v, $"{_ropeName}.{key}", (int?)null) : Int(key, fallback);

    /// <summary>A list of numbers of the rope scaling (LongRoPE's factors) as float32, or null when absent.</summary>
    public float[]? RopeFloats(string key)
    {
        if (_rope is not { } rope || !JsonFile.TryGet(rope, key, out var v))
            return null;
        string what = $"{_ropeName}.{key}";
        return [.. JsonFile.Array(v, Path, what).EnumerateArray().Select((x, i) => ToFloat(JsonFile.Double(x, Path, $"{what}[{i}]"), $"{what}[{i}]"))];
    }

    /// <summary>The rope base of full-attention layers: the rope settings' rope_theta, else the root's.</summary>
    public float RopeTheta(float fallback) => ToFloat(RopeDouble("rope_theta", fallback), "rope_theta");

    /// <summary>The rope base of sliding-window layers: rope_parameters.sliding_attention.rope_theta, else
    /// rope_local_base_freq (Gemma 3), else <paramref name="fallback"/>.</summary>
    public float SlidingRopeTheta(float fallback)
    {
        if (Get("rope_parameters") is { } parameters && parameters.ValueKind == JsonValueKind.Object
            && JsonFile.TryGet(parameters, "sliding_attention", out var sliding)
            && JsonFile.TryGet(JsonFile.Object(sliding, Path, "rope_parameters.sliding_attention"), "rope_theta", out var theta))
            return ToFloat(Positive(theta, "rope_parameters.sliding_attention.rope_theta", (double?)null), "rope_parameters.sliding_attention.rope_theta");
        return Float("rope_local_base_freq", fallback);
    }

    /// <summary>Throws unless the rope scaling type is none or one of <paramref name="supported"/>.</summary>
    public void RequireRopeScaling(params string[] supported)
    {
        if (RopeScalingType is { } type && !supported.Contains(type))
            throw new NotSupportedException(
                $"{Path}: {_ropeName.Split('.')[0]} type {Excerpt.Quote(type)} is not supported for {HfArchitecture} (supported: {string.Join(", ", supported)})");
    }

    /// <summary>Throws when config.json sets <paramref name="key"/> to null, which transformers reads as "off", not
    /// as the default: <paramref name="what"/> is not supported.</summary>
    public void RefuseNull(string key, string what)
    {
        if (Holder(key).TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Null)
            throw new NotSupportedException($"{Path}: {key} is null: {what} is not supported");
    }

    public ConversionException Error(string message) => new($"{Path}: {message}");

    private int Positive(JsonElement? value, string key, int? fallback)
    {
        if (value is not { } v)
            return fallback ?? throw Error($"missing integer '{key}'");
        int i = JsonFile.Int32(v, Path, key);
        return i > 0 ? i : throw Error($"{key} = {i} must be positive");
    }

    private double Positive(JsonElement? value, string key, double? fallback)
    {
        if (value is not { } v)
            return fallback ?? throw Error($"missing number '{key}'");
        double d = JsonFile.Double(v, Path, key);
        return d > 0 ? d : throw Error($"{key} = {d} must be positive");
    }

    private float ToFloat(double d, string key) =>
        float.IsFinite((float)d) ? (float)d : throw Error($"{key} = {d} does not fit a float32");

    private int? OptionalId(string key) =>
        Get(key) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out int i) && i >= 0 ? i : null;
}
