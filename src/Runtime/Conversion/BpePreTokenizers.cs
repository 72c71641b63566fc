using System.Text.Json;
using LlamaAot.Diagnostics;

namespace LlamaAot.Conversion;

/// <summary>
/// The <c>tokenizer.ggml.pre</c> of a byte-level BPE tokenizer.json. convert_hf_to_gguf.py names the pre-tokenizer by
/// tokenizing a test text with transformers and hashing the ids (<c>get_vocab_base_pre</c>); without Python it is
/// named here from what decides those ids without the vocabulary: the <c>normalizer</c> and <c>pre_tokenizer</c> blocks,
/// compared with the blocks of the checkpoints each name was made for. A pair of blocks not in the table is refused,
/// never given a name that would tokenize differently.
/// </summary>
internal static class BpePreTokenizers
{
    /// <summary>
    /// The blocks of each known name, as the checkpoints' tokenizer.json files hold them (normalizer, pre_tokenizer).
    /// </summary>
    private static readonly (string Pre, string Models, string Normalizer, string PreTokenizer)[] Known =
    [
        // meta-llama/Meta-Llama-3-8B (and 3.1, 3.2, 3.3): the cl100k split, then bytes to GPT-2's characters.
        ("llama-bpe", "Llama 3", "null", """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """),
        // Qwen/Qwen2-7B, Qwen2.5, Qwen3: NFC, and Llama 3's split with single digits.
        ("qwen2", "Qwen 2, 2.5 and 3", """{"type": "NFC"}""", """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]}
            """),
        // HuggingFaceTB/SmolLM-135M and SmolLM2: single digits, then GPT-2's split. StarCoder's and Refact's tokenizers
        // have the same blocks, but no architecture converted here is theirs.
        ("smollm", "SmolLM, SmolLM2", "null", """
            {"type": "Sequence", "pretokenizers": [
              {"type": "Digits", "individual_digits": true},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}
            """),
    ];

    /// <summary>Options that tokenizers versions write or leave out, with the value they mean when left out.</summary>
    private static readonly Dictionary<string, (string Key, bool Value)[]> Defaults = new(StringComparer.Ordinal)
    {
        ["ByteLevel"] = [("add_prefix_space", true), ("use_regex", true)],
        ["Split"] = [("invert", false)],
        ["Digits"] = [("individual_digits", false)],
    };

    private static readonly JsonElement True = Parse("true")!.Value;
    private static readonly JsonElement False = Parse("false")!.Value;

    private static readonly Dictionary<string, string> s_byBlocks = Known.ToDictionary(
        k => Key(Parse(k.Normalizer), Parse(k.PreTokenizer)), k => k.Pre, StringComparer.Ordinal);

    /// <summary>Whether a tokenizer.json pre-tokenizer maps bytes to GPT-2's characters (a ByteLevel step).</summary>
    public static bool IsByteLevel(JsonElement? preTokenizer) =>
        preTokenizer is { ValueKind: JsonValueKind.Object } p
        && (Type(p) == "ByteLevel"
            || (Type(p) == "Sequence" && p.TryGetProperty("pretokenizers", out var steps) && steps.ValueKind == JsonValueKind.Array
                && steps.EnumerateArray().Any(s => IsByteLevel(s))));

    /// <summary>The <c>tokenizer.ggml.pre</c> whose blocks these are (null for a block that is absent or null).</summary>
    /// <exception cref="NotSupportedException">No known name has these blocks; the message describes them.</exception>
    public static string Identify(JsonElement? normalizer, JsonElement? preTokenizer, string path)
    {
        if (s_byBlocks.TryGetValue(Key(normalizer, preTokenizer), out string? pre))
            return pre;
        // What was found, cut short: a file can hold any number of steps and patterns of any length.
        string found = $"pre_tokenizer {Describe(preTokenizer)} with normalizer {Describe(normalizer)}";
        if (found.Length > MaxDescription)
            found = found[..(MaxDescription - 3)] + "...";
        throw new NotSupportedException(
            $"{path}: no tokenizer.ggml.pre known for {found} (known: {string.Join(", ", Known.Select(k => k.Pre))}; " +
            "llama.cpp's convert_hf_to_gguf.py names more)");
    }

    private const int MaxDescription = 200;

    private static JsonElement? Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind == JsonValueKind.Null ? null : document.RootElement.Clone();
    }

    /// <summary>
    /// The blocks as one comparable string: object keys sorted (a repeated key: the last, as Python's json reads it),
    /// the option that changes only offsets (<c>trim_offsets</c>) dropped, and the options a tokenizers version may
    /// leave out written with their default values.
    /// </summary>
    private static string Key(JsonElement? normalizer, JsonElement? preTokenizer)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var block in new[] { normalizer, preTokenizer })
            {
                if (block is { } b)
                    WriteCanonical(w, b);
                else
                    w.WriteNullValue();
            }
            w.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteCanonical(Utf8JsonWriter w, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var fields = new SortedDictionary<string, JsonElement?>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject())
                    fields[p.Name] = p.Value;
                fields.Remove("trim_offsets");
                if (Type(e) is { } type && Defaults.TryGetValue(type, out var defaults))
                {
                    foreach (var (key, value) in defaults)
                        fields.TryAdd(key, value ? True : False);
                }
                w.WriteStartObject();
                foreach (var (key, value) in fields)
                {
                    w.WritePropertyName(key);
                    WriteCanonical(w, value!.Value);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in e.EnumerateArray())
                    WriteCanonical(w, item);
                w.WriteEndArray();
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }

    /// <summary>A block in a few words: its steps' types, a Split's pattern quoted.</summary>
    private static string Describe(JsonElement? block)
    {
        if (block is not { ValueKind: JsonValueKind.Object } o)
            return block is null ? "none" : Excerpt.Quote(block.Value.GetRawText());
        string type = Type(o) ?? "(no type)";
        if ((o.TryGetProperty("pretokenizers", out var steps) || o.TryGetProperty("normalizers", out steps)) && steps.ValueKind == JsonValueKind.Array)
            return $"{type}[{string.Join(", ", steps.EnumerateArray().Select(s => Describe(s)))}]";
        if (o.TryGetProperty("pattern", out var pattern) && pattern.ValueKind == JsonValueKind.Object
            && (pattern.TryGetProperty("Regex", out var regex) || pattern.TryGetProperty("String", out regex)) && regex.ValueKind == JsonValueKind.String)
            return $"{type} {Excerpt.Quote(regex.GetString()!)}";
        return type;
    }

    private static string? Type(JsonElement e) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
}
