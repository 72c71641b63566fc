using System.Text.Json;
using LlamaAot.Diagnostics;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>
/// A byte-level BPE tokenizer.json (Llama 3, Qwen 2/2.5/3, SmolLM) as convert_hf_to_gguf.py's <c>_set_vocab_gpt2</c>
/// writes it: <c>tokenizer.ggml.model = "gpt2"</c>, the pre-tokenizer's name, the tokens by id with their types, the
/// merges, and SpecialVocab's keys.
/// </summary>
internal static partial class HuggingFaceTokenizer
{
    private static string ModelType(JsonElement model, string path) =>
        JsonFile.TryGet(model, "type", out var t) ? JsonFile.String(t, path, "model.type") : "";

    private static bool HasByteFallback(JsonElement model) =>
        model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;

    /// <summary>A BPE model without byte fallback whose pre-tokenizer maps bytes to GPT-2's characters.</summary>
    private static bool IsByteLevel(JsonElement root, JsonElement model, string path) =>
        ModelType(model, path) == "BPE" && !HasByteFallback(model)
        && BpePreTokenizers.IsByteLevel(JsonFile.TryGet(root, "pre_tokenizer", out var p) ? p : null);

    /// <summary>
    /// The vocabulary as get_vocab_base lists it: ids 0 to config.json's vocab_size - 1, each the model's token of that
    /// id, or an added token (it replaces a model token of its id; a model token of its text loses its id), or
    /// <c>[PADn]</c> (unused) where there is none. Added tokens are control tokens when special or spelled like one
    /// (<c>&lt;|...|&gt;</c>), else user-defined with U+2581 turned into spaces.
    /// </summary>
    private static BpeVocabulary ReadByteLevel(string directory, string path, JsonElement root, JsonElement model,
        HuggingFaceConfig config, JsonElement? tokenizerConfig)
    {
        string pre = BpePreTokenizers.Identify(
            JsonFile.TryGet(root, "normalizer", out var n) ? n : null, JsonFile.TryGet(root, "pre_tokenizer", out var p) ? p : null, path);
        int count = config.VocabSize;
        var tokens = new string?[count];
        var types = new TokenType[count];
        var idOfText = new Dictionary<string, int>(count, StringComparer.Ordinal);
        var vocab = JsonFile.Object(JsonFile.Required(model, "vocab", path, "the BPE model"), path, "model.vocab");
        foreach (var entry in vocab.EnumerateObject())
        {
            // The message is made only for a bad id: a vocabulary has 150,000 of them.
            int id = TokenId(entry.Value.ValueKind == JsonValueKind.Number && entry.Value.TryGetInt32(out int i)
                ? i
                : JsonFile.Int32(entry.Value, path, $"the id of token {Excerpt.Quote(entry.Name)}"), entry.Name, count, path, config);
            if (tokens[id] is { } other)
                throw new ConversionException($"{path}: tokens {Excerpt.Quote(other)} and {Excerpt.Quote(entry.Name)} have the same id {id}");
            tokens[id] = entry.Name;
            types[id] = TokenType.Normal;
            idOfText[entry.Name] = id;
        }

        foreach (var (id, content, special) in AddedTokens(directory, root, path, tokenizerConfig, count, config))
        {
            if (idOfText.TryGetValue(content, out int old) && old != id)
                tokens[old] = null;
            bool control = special || LooksSpecial(content);
            tokens[id] = control ? content : content.Replace('\u2581', ' ');
            types[id] = control ? TokenType.Control : TokenType.UserDefined;
            idOfText[content] = id;
        }
        for (int id = 0; id < count; id++)
        {
            if (tokens[id] is null)
            {
                tokens[id] = $"[PAD{id}]";
                types[id] = TokenType.Unused;
            }
        }
        var seen = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (int id = 0; id < count; id++)
        {
            // llama.cpp requires distinct texts (it asserts on loading).
            if (!seen.TryAdd(tokens[id]!, id))
                throw new ConversionException($"{path}: tokens {seen[tokens[id]!]} and {id} are both {Excerpt.Quote(tokens[id]!)}");
        }

        var specials = new HuggingFaceSpecialTokens(directory, root, path, tokenizerConfig, config, count);
        return new BpeVocabulary(pre, tokens!, types, ReadMerges(model, path)) { SpecialTokens = specials.Keys };
    }

    private static int TokenId(int id, string text, int count, string path, HuggingFaceConfig config) =>
        id >= 0 && id < count
            ? id
            : throw new ConversionException($"{path}: token {Excerpt.Quote(text)} has id {id}, outside config.json's vocab_size {config.VocabSize}");

    /// <summary>tokenizer.json's added tokens, then tokenizer_config.json's added_tokens_decoder (which transformers
    /// adds again, over them).</summary>
    private static List<(int Id, string Content, bool Special)> AddedTokens(string directory, JsonElement root, string path,
        JsonElement? tokenizerConfig, int count, HuggingFaceConfig config)
    {
        var added = new List<(int, string, bool)>();
        if (JsonFile.TryGet(root, "added_tokens", out var addedTokens))
        {
            foreach (var a in JsonFile.Array(addedTokens, path, "added_tokens").EnumerateArray())
            {
                string what = $"added token {added.Count}";
                JsonFile.Object(a, path, what);
                string content = JsonFile.String(JsonFile.Required(a, "content", path, what), path, $"the content of {what}");
                int id = TokenId(JsonFile.Int32(JsonFile.Required(a, "id", path, what), path, $"the id of {what}"), content, count, path, config);
                added.Add((id, content, a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True));
            }
        }
        if (tokenizerConfig is { } settings && JsonFile.TryGet(settings, "added_tokens_decoder", out var decoder))
        {
            string configPath = Path.Combine(directory, "tokenizer_config.json");
            foreach (var entry in JsonFile.Object(decoder, configPath, "added_tokens_decoder").EnumerateObject())
            {
                string what = $"added_tokens_decoder entry {Excerpt.Quote(entry.Name)}";
                if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                    throw new ConversionException($"{configPath}: added_tokens_decoder key {Excerpt.Quote(entry.Name)} is not a token id");
                JsonFile.Object(entry.Value, configPath, what);
                string content = JsonFile.String(JsonFile.Required(entry.Value, "content", configPath, what), configPath, $"the content of {what}");
                added.Add((TokenId(id, content, count, configPath, config), content,
                    entry.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True));
            }
        }
        return added;
    }

    /// <summary>
    /// convert_hf_to_gguf.py's <c>does_token_look_special</c>: added tokens some models leave unmarked that are control
    /// tokens all the same.
    /// </summary>
    private static bool LooksSpecial(string text) =>
        text is "<pad>" or "<mask>" or "<2mass>" or "[@BOS@]"
        || (text.StartsWith("<|", StringComparison.Ordinal) && text.EndsWith("|>", StringComparison.Ordinal))
        || (text.StartsWith("<\uFF5C", StringComparison.Ordinal) && text.EndsWith("\uFF5C>", StringComparison.Ordinal)) // DeepSeek's full-width bar
        || (text.StartsWith("<unused", StringComparison.Ordinal) && text.EndsWith('>'));

    /// <summary>
    /// model.merges as GGUF holds them, "a b" by rank: strings as they are (the format before transformers 4.45), or
    /// [a, b] pairs joined by a space, a space inside a part written U+0120 as byte-level text spells it.
    /// </summary>
    private static string[] ReadMerges(JsonElement model, string path)
    {
        if (!JsonFile.TryGet(model, "merges", out var merges))
            return [];
        var result = new string[JsonFile.Array(merges, path, "model.merges").GetArrayLength()];
        int i = 0;
        foreach (var m in merges.EnumerateArray())
        {
            result[i] = m.ValueKind switch
            {
                JsonValueKind.String => m.GetString()!,
                JsonValueKind.Array when m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String =>
                    $"{m[0].GetString()!.Replace(' ', '\u0120')} {m[1].GetString()!.Replace(' ', '\u0120')}",
                _ => throw JsonFile.WrongKind(m, path, $"merge {i}", "a string or a pair of strings"),
            };
            i++;
        }
        return result;
    }
}
