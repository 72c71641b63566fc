using System.Text.Json;
using LlamaAot.Diagnostics;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>
/// The vocabulary of a Hugging Face directory as GGUF tokenizer metadata: a SentencePiece vocabulary from
/// <c>tokenizer.model</c> (preferred, as convert_hf_to_gguf.py does) or from a SentencePiece-style <c>tokenizer.json</c>
/// (BPE with byte fallback), with the added tokens of <c>added_tokens.json</c> / <c>tokenizer_config.json</c>, padded to
/// the model's vocab_size with unused <c>[PADn]</c> tokens; or a byte-level BPE vocabulary from a <c>tokenizer.json</c>
/// (<c>HuggingFaceTokenizer.ByteLevel.cs</c>). Either way with tokenizer_config.json's chat template.
/// </summary>
internal static partial class HuggingFaceTokenizer
{
    private const float AddedTokenScore = -1000f; // convert_hf_to_gguf.py's score for added tokens

    public static IGgufVocabulary Read(string directory, HuggingFaceConfig config)
    {
        string model = Path.Combine(directory, "tokenizer.model"), json = Path.Combine(directory, "tokenizer.json");
        // tokenizer_config.json: added_tokens_decoder, add_bos_token / add_eos_token, the chat template.
        string tokenizerConfigPath = Path.Combine(directory, "tokenizer_config.json");
        using var tokenizerConfig = File.Exists(tokenizerConfigPath) ? JsonFile.Parse(tokenizerConfigPath) : null;
        var tokenizerSettings = tokenizerConfig is null ? (JsonElement?)null : JsonFile.Root(tokenizerConfig, tokenizerConfigPath);
        bool? Flag(string key) =>
            tokenizerSettings is { } settings && settings.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
                ? v.GetBoolean()
                : null;
        var architecture = config.Architecture;
        bool? addSpacePrefix = architecture.AddSpacePrefix ?? (architecture.ReadsAddPrefixSpace ? Flag("add_prefix_space") : null);

        List<string> tokens;
        List<float> scores;
        List<TokenType> types;
        int unk, bos, eos;
        int? pad;
        bool? spacePrefix = addSpacePrefix;
        if (File.Exists(model))
        {
            var sp = SentencePieceModel.Read(model);
            (tokens, scores, types) = ([.. sp.Pieces], [.. sp.Scores], [.. sp.Types]);
            (unk, bos, eos, pad) = (sp.UnknownId, sp.BosId, sp.EosId, sp.PadId >= 0 ? sp.PadId : null);
            if (!sp.AddDummyPrefix)
                spacePrefix ??= false;
        }
        else if (File.Exists(json))
        {
            using var doc = JsonFile.Parse(json);
            var root = JsonFile.Root(doc, json);
            var bpe = JsonFile.Object(JsonFile.Required(root, "model", json, "the tokenizer"), json, "model");
            if (IsByteLevel(root, bpe, json))
                return ReadByteLevel(directory, json, root, bpe, config, tokenizerSettings) with { AddSpacePrefix = addSpacePrefix };
            (tokens, scores, types) = ReadTokenizerJson(json, root, bpe);
            int Find(string text, int fallback) => tokens.IndexOf(text) is >= 0 and var i ? i : fallback;
            (unk, bos, eos, pad) = (types.IndexOf(TokenType.Unknown) is >= 0 and var u ? u : 0, Find("<s>", 1), Find("</s>", 2), null);
        }
        else
        {
            throw new ConversionException($"{directory}: no tokenizer.model or tokenizer.json");
        }

        ApplyAddedTokens(directory, tokenizerSettings, tokenizerConfigPath, tokens, scores, types);
        if (tokens.Count > config.VocabSize)
            throw new ConversionException($"{directory}: the tokenizer has {tokens.Count} tokens, more than config.json's vocab_size {config.VocabSize}");
        for (int i = tokens.Count; i < config.VocabSize; i++)
        {
            tokens.Add($"[PAD{i}]");
            scores.Add(AddedTokenScore);
            types.Add(TokenType.Unused);
        }

        return new SpmVocabulary([.. tokens], [.. scores], [.. types])
        {
            UnknownId = unk,
            BosId = config.BosId ?? bos,
            EosId = config.EosId ?? eos,
            PaddingId = config.PadId ?? pad,
            AddBos = Flag("add_bos_token"),
            AddEos = Flag("add_eos_token"),
            AddSpacePrefix = spacePrefix,
            ChatTemplates = HuggingFaceSpecialTokens.ReadChatTemplates(directory, tokenizerSettings),
        };
    }

    /// <summary>
    /// A SentencePiece vocabulary from a tokenizer.json (transformers' LlamaConverter output: BPE, byte fallback,
    /// merges ordered by the merged piece's SentencePiece score). The scores are rebuilt from the merge ranks: a
    /// piece made by merge r scores -r, so llama.cpp's SPM tokenizer, which merges the best-scoring pair first,
    /// applies the merges in the same order as the BPE model; pieces no merge makes score below every merge.
    /// </summary>
    private static (List<string>, List<float>, List<TokenType>) ReadTokenizerJson(string path, JsonElement root, JsonElement model)
    {
        string type = ModelType(model, path);
        if (type != "BPE" || !HasByteFallback(model))
            throw new NotSupportedException(
                $"{path}: a {Excerpt.Quote(type)} tokenizer{(type == "BPE" ? " with neither byte fallback (SentencePiece's) nor a ByteLevel pre-tokenizer (GPT-2's)" : "")} is not supported: llama-aot converts SentencePiece and byte-level BPE vocabularies");
        var vocab = JsonFile.Object(JsonFile.Required(model, "vocab", path, "the BPE model"), path, "model.vocab");

        var byId = new SortedDictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            int id = JsonFile.Int32(entry.Value, path, $"the id of token {Excerpt.Quote(entry.Name)}");
            if (id < 0 || !byId.TryAdd(id, entry.Name))
                throw new ConversionException($"{path}: token id {id} ({Excerpt.Quote(entry.Name)}) is negative or given twice");
        }
        var added = new List<(int Id, string Content, bool Special)>();
        if (JsonFile.TryGet(root, "added_tokens", out var addedTokens))
        {
            foreach (var a in JsonFile.Array(addedTokens, path, "added_tokens").EnumerateArray())
            {
                string what = $"added token {added.Count}";
                JsonFile.Object(a, path, what);
                int id = JsonFile.Int32(JsonFile.Required(a, "id", path, what), path, $"the id of {what}");
                if (id < 0)
                    throw new ConversionException($"{path}: {what} has id {id}, not a token id");
                string content = JsonFile.String(JsonFile.Required(a, "content", path, what), path, $"the content of {what}");
                added.Add((id, content, a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True));
                byId.TryAdd(id, content);
            }
        }
        int n = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        if (byId.Count != n)
            throw new ConversionException($"{path}: token ids are not contiguous from 0 ({byId.Count} tokens, largest id {n - 1})");

        var tokens = byId.Values.ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            index.TryAdd(tokens[i], i);
        var rank = new int?[n];
        if (JsonFile.TryGet(model, "merges", out var merges))
        {
            int r = 0;
            foreach (var m in JsonFile.Array(merges, path, "model.merges").EnumerateArray())
            {
                string merged = m.ValueKind == JsonValueKind.Array && m.EnumerateArray().All(p => p.ValueKind == JsonValueKind.String)
                    ? string.Concat(m.EnumerateArray().Select(p => p.GetString()))
                    : m.ValueKind == JsonValueKind.String ? m.GetString()!.Replace(" ", "", StringComparison.Ordinal)
                    : throw JsonFile.WrongKind(m, path, $"merge {r}", "a string or a pair of strings");
                if (index.TryGetValue(merged, out int id))
                    rank[id] ??= r;
                r++;
            }
        }
        int mergeCount = rank.Count(x => x is not null);
        var scores = new List<float>(n);
        var types = new List<TokenType>(n);
        string? unk = JsonFile.TryGet(model, "unk_token", out var u) ? JsonFile.String(u, path, "model.unk_token") : null;
        for (int i = 0; i < n; i++)
        {
            scores.Add(rank[i] is { } ri ? -ri : -(mergeCount + i));
            types.Add(tokens[i] == unk ? TokenType.Unknown
                : HuggingFaceConverter.ByteToken().IsMatch(tokens[i]) ? TokenType.Byte
                : TokenType.Normal);
        }
        foreach (var (id, _, special) in added)
        {
            if (types[id] == TokenType.Unknown)
                continue;
            types[id] = special ? TokenType.Control : TokenType.UserDefined;
            scores[id] = AddedTokenScore;
        }
        return (tokens, scores, types);
    }

    /// <summary>added_tokens.json and tokenizer_config.json's added_tokens_decoder, as convert_hf_to_gguf.py applies them.</summary>
    private static void ApplyAddedTokens(string directory, JsonElement? tokenizerConfig, string tokenizerConfigPath,
        List<string> tokens, List<float> scores, List<TokenType> types)
    {
        void Set(int id, string text, TokenType type, string source)
        {
            if (id < 0 || id > tokens.Count)
                throw new ConversionException($"{source}: added token {Excerpt.Quote(text)} has id {id}, but the vocabulary has {tokens.Count} tokens");
            if (id == tokens.Count)
            {
                tokens.Add(text);
                scores.Add(AddedTokenScore);
                types.Add(type);
                return;
            }
            tokens[id] = text;
            scores[id] = AddedTokenScore;
            types[id] = type;
        }
        string addedTokens = Path.Combine(directory, "added_tokens.json");
        if (File.Exists(addedTokens))
        {
            using var doc = JsonFile.Parse(addedTokens);
            var ids = JsonFile.Root(doc, addedTokens).EnumerateObject()
                .Select(p => (Text: p.Name, Id: JsonFile.Int32(p.Value, addedTokens, $"the id of added token {Excerpt.Quote(p.Name)}")));
            foreach (var (text, id) in ids.OrderBy(p => p.Id))
                Set(id, text, TokenType.UserDefined, addedTokens);
        }
        if (tokenizerConfig is { } config && JsonFile.TryGet(config, "added_tokens_decoder", out var decoder))
        {
            var entries = JsonFile.Object(decoder, tokenizerConfigPath, "added_tokens_decoder").EnumerateObject().Select(p =>
            {
                // The keys are token ids: digits, as transformers writes them.
                if (!int.TryParse(p.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                    throw new ConversionException($"{tokenizerConfigPath}: added_tokens_decoder key {Excerpt.Quote(p.Name)} is not a token id");
                string what = $"added_tokens_decoder entry {Excerpt.Quote(p.Name)}";
                JsonFile.Object(p.Value, tokenizerConfigPath, what);
                string text = JsonFile.String(JsonFile.Required(p.Value, "content", tokenizerConfigPath, what), tokenizerConfigPath, $"the content of {what}");
                return (Id: id, Text: text, Special: p.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True);
            });
            foreach (var (id, text, special) in entries.OrderBy(e => e.Id))
            {
                if (id < types.Count && types[id] is TokenType.Unknown or TokenType.Byte)
                    continue; // <unk> and byte pieces keep their own types
                Set(id, special ? text : text.Replace('\u2581', ' '), special ? TokenType.Control : TokenType.UserDefined, tokenizerConfigPath);
            }
        }
    }
}
