using System.Text.Json;
using LlamaAot.Diagnostics;

namespace LlamaAot.Conversion;

/// <summary>
/// The JSON of a Hugging Face directory (config.json, the tokenizer files, the safetensors index and headers), read
/// so that whatever is malformed is a <see cref="ConversionException"/> naming the file and the field: text that is not
/// JSON or not Unicode, a value of the wrong kind, a missing field. System.Text.Json's accessors would throw framework
/// exceptions for those, and its parse errors quote the offending text whole (kilobytes, from a corrupt file).
/// </summary>
internal static class JsonFile
{
    private static readonly JsonDocumentOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    /// <summary>Parses the file at <paramref name="path"/>.</summary>
    public static JsonDocument Parse(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses <paramref name="utf8"/>; <paramref name="source"/> begins every error message (a path, or
    /// "PATH: the safetensors header"). Every string and key is checked to decode, so that reading one later cannot
    /// fail.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException e)
        {
            throw new ConversionException($"{source}: not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}");
        }
        if (!Decodes(document.RootElement))
        {
            document.Dispose();
            throw new ConversionException($"{source}: a string is not valid Unicode (bytes that are not UTF-8, or half of a surrogate pair)");
        }
        return document;
    }

    /// <summary>Whether every string and key in <paramref name="e"/> decodes (System.Text.Json checks them only when read).</summary>
    private static bool Decodes(JsonElement e)
    {
        try
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    _ = e.GetString();
                    return true;
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        _ = p.Name;
                        if (!Decodes(p.Value))
                            return false;
                    }
                    return true;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray())
                    {
                        if (!Decodes(item))
                            return false;
                    }
                    return true;
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The root of <paramref name="document"/>, which must be an object.</summary>
    public static JsonElement Root(JsonDocument document, string path) =>
        document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement : throw new ConversionException($"{path}: not a JSON object");

    /// <summary>The field <paramref name="key"/> of <paramref name="e"/>, or false when it is absent or null (as
    /// transformers writes an unset option).</summary>
    public static bool TryGet(JsonElement e, string key, out JsonElement value) =>
        e.TryGetProperty(key, out value) && value.ValueKind != JsonValueKind.Null;

    /// <summary>The field <paramref name="key"/> of the object <paramref name="e"/>, which must be there.</summary>
    /// <param name="what">The object, as the message names it ("added token 3").</param>
    public static JsonElement Required(JsonElement e, string key, string path, string what) =>
        TryGet(e, key, out var value) ? value : throw new ConversionException($"{path}: {what} has no {key}");

    public static JsonElement Object(JsonElement e, string path, string what) =>
        e.ValueKind == JsonValueKind.Object ? e : throw WrongKind(e, path, what, "an object");

    public static JsonElement Array(JsonElement e, string path, string what) =>
        e.ValueKind == JsonValueKind.Array ? e : throw WrongKind(e, path, what, "an array");

    public static string String(JsonElement e, string path, string what) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw WrongKind(e, path, what, "a string");

    public static int Int32(JsonElement e, string path, string what) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int i) ? i : throw WrongKind(e, path, what, "an integer");

    /// <summary>A number as Python's json reads it (a double); convert_hf_to_gguf.py rounds it to float32 where GGUF
    /// stores one.</summary>
    public static double Double(JsonElement e, string path, string what) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw WrongKind(e, path, what, "a finite number");

    /// <summary>"PATH: WHAT is KIND, not EXPECTED", e.g. "config.json: hidden_size is a string, not an integer".</summary>
    public static ConversionException WrongKind(JsonElement e, string path, string what, string expected) =>
        new($"{path}: {what} is {Describe(e)}, not {expected}");

    /// <summary>What a value is, as a message says it: "a string", "the number 1e308", "an array".</summary>
    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => e.GetRawText() is { Length: <= Excerpt.MaxWidth } number ? $"the number {number}" : $"a number of {e.GetRawText().Length} characters",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => "null",
    };
}
