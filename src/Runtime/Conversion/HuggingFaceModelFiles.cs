using System.Text.Json;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>The hyperparameters of a Hugging Face llama <c>config.json</c> (transformers' LlamaConfig, with its defaults).</summary>
internal sealed record HuggingFaceConfig(LlamaHyperparameters Hyperparameters, int VocabSize, bool TieWordEmbeddings, float? RopeScalingFactor,
    int? BosId, int? EosId, int? PadId)
{
    public static HuggingFaceConfig Read(string directory)
    {
        string path = Path.Combine(directory, "config.json");
        if (!File.Exists(path))
            throw new ConversionException($"{directory}: no config.json: not a Hugging Face model directory");
        using var doc = HuggingFaceConverter.ParseJson(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new ConversionException($"{path}: not a JSON object");

        if (root.TryGetProperty("architectures", out var archs) && archs.ValueKind == JsonValueKind.Array)
        {
            var names = archs.EnumerateArray().Select(a => a.GetString() ?? "").ToList();
            if (!names.Any(HuggingFaceConverter.SupportedArchitectures.Contains))
                throw new NotSupportedException(
                    $"{path}: architecture {string.Join(", ", names)} is not supported (supported: {string.Join(", ", HuggingFaceConverter.SupportedArchitectures)})");
        }

        int Int(string key, int? fallback = null)
        {
            if (root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i))
                return i > 0 ? i : throw new ConversionException($"{path}: {key} = {i} must be positive");
            return fallback ?? throw new ConversionException($"{path}: missing integer '{key}'");
        }
        float Float(string key, float fallback) =>
            root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : fallback;
        int? OptionalId(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) && i >= 0 ? i : null;

        int embd = Int("hidden_size"), heads = Int("num_attention_heads");
        if (embd % heads != 0)
            throw new ConversionException($"{path}: hidden_size {embd} is not a multiple of num_attention_heads {heads}");
        if (root.TryGetProperty("head_dim", out var hd) && hd.ValueKind == JsonValueKind.Number && hd.GetInt32() != embd / heads)
            throw new NotSupportedException($"{path}: head_dim {hd.GetInt32()} differs from hidden_size / num_attention_heads = {embd / heads}");
        int kvHeads = Int("num_key_value_heads", heads);
        if (heads % kvHeads != 0)
            throw new ConversionException($"{path}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");

        float? scaling = null;
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind == JsonValueKind.Object)
        {
            string type = (rs.TryGetProperty("rope_type", out var t) || rs.TryGetProperty("type", out t)) ? t.GetString() ?? "" : "";
            if (type != "linear")
                throw new NotSupportedException($"{path}: rope_scaling type '{type}' is not supported (only linear)");
            scaling = rs.TryGetProperty("factor", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetSingle() : 1f;
        }

        var h = new LlamaHyperparameters(
            NCtxTrain: Int("max_position_embeddings", 2048),
            NEmbd: embd,
            NLayer: Int("num_hidden_layers"),
            NFf: Int("intermediate_size"),
            NHead: heads,
            NHeadKv: kvHeads,
            NRot: embd / heads,
            RmsEps: Float("rms_norm_eps", 1e-6f),
            RopeFreqBase: Float("rope_theta", 10000f));
        bool tied = root.TryGetProperty("tie_word_embeddings", out var tie) && tie.ValueKind == JsonValueKind.True;
        return new HuggingFaceConfig(h, Int("vocab_size"), tied, scaling, OptionalId("bos_token_id"), OptionalId("eos_token_id"), OptionalId("pad_token_id"));
    }
}

/// <summary>
/// The vocabulary of a Hugging Face directory as a GGUF SentencePiece vocabulary: from <c>tokenizer.model</c>
/// (preferred, as convert_hf_to_gguf.py does) or from a SentencePiece-style <c>tokenizer.json</c> (BPE with byte
/// fallback), with the added tokens of <c>added_tokens.json</c> / <c>tokenizer_config.json</c>, padded to the
/// model's vocab_size with unused <c>[PADn]</c> tokens.
/// </summary>
internal static class HuggingFaceTokenizer
{
    private const float AddedTokenScore = -1000f; // convert_hf_to_gguf.py's score for added tokens

    public static SpmVocabulary Read(string directory, HuggingFaceConfig config)
    {
        string model = Path.Combine(directory, "tokenizer.model"), json = Path.Combine(directory, "tokenizer.json");
        List<string> tokens;
        List<float> scores;
        List<TokenType> types;
        int unk, bos, eos;
        int? pad;
        bool? spacePrefix = null;
        if (File.Exists(model))
        {
            var sp = SentencePieceModel.Read(model);
            (tokens, scores, types) = ([.. sp.Pieces], [.. sp.Scores], [.. sp.Types]);
            (unk, bos, eos, pad) = (sp.UnknownId, sp.BosId, sp.EosId, sp.PadId >= 0 ? sp.PadId : null);
            if (!sp.AddDummyPrefix)
                spacePrefix = false;
        }
        else if (File.Exists(json))
        {
            (tokens, scores, types) = ReadTokenizerJson(json);
            int Find(string text, int fallback) => tokens.IndexOf(text) is >= 0 and var i ? i : fallback;
            (unk, bos, eos, pad) = (types.IndexOf(TokenType.Unknown) is >= 0 and var u ? u : 0, Find("<s>", 1), Find("</s>", 2), null);
        }
        else
        {
            throw new ConversionException($"{directory}: no tokenizer.model or tokenizer.json");
        }

        ApplyAddedTokens(directory, tokens, scores, types);
        if (tokens.Count > config.VocabSize)
            throw new ConversionException($"{directory}: the tokenizer has {tokens.Count} tokens, more than config.json's vocab_size {config.VocabSize}");
        for (int i = tokens.Count; i < config.VocabSize; i++)
        {
            tokens.Add($"[PAD{i}]");
            scores.Add(AddedTokenScore);
            types.Add(TokenType.Unused);
        }

        bool? addBos = null, addEos = null;
        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using var doc = HuggingFaceConverter.ParseJson(tokenizerConfig);
            if (doc.RootElement.TryGetProperty("add_bos_token", out var b) && b.ValueKind is JsonValueKind.True or JsonValueKind.False)
                addBos = b.GetBoolean();
            if (doc.RootElement.TryGetProperty("add_eos_token", out var e) && e.ValueKind is JsonValueKind.True or JsonValueKind.False)
                addEos = e.GetBoolean();
        }
        return new SpmVocabulary([.. tokens], [.. scores], [.. types])
        {
            UnknownId = unk,
            BosId = config.BosId ?? bos,
            EosId = config.EosId ?? eos,
            PaddingId = config.PadId ?? pad,
            AddBos = addBos,
            AddEos = addEos,
            AddSpacePrefix = spacePrefix,
        };
    }

    /// <summary>
    /// A SentencePiece vocabulary from a tokenizer.json (transformers' LlamaConverter output: BPE, byte fallback,
    /// merges ordered by the merged piece's SentencePiece score). The scores are rebuilt from the merge ranks: a
    /// piece made by merge r scores -r, so llama.cpp's SPM tokenizer, which merges the best-scoring pair first,
    /// applies the merges in the same order as the BPE model; pieces no merge makes score below every merge.
    /// </summary>
    private static (List<string>, List<float>, List<TokenType>) ReadTokenizerJson(string path)
    {
        using var doc = HuggingFaceConverter.ParseJson(path);
        if (!doc.RootElement.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new ConversionException($"{path}: no model object");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        if (type != "BPE" || !byteFallback)
            throw new NotSupportedException(
                $"{path}: a {type} tokenizer{(type == "BPE" ? " without byte fallback (a byte-level BPE such as GPT-2's or Llama 3's)" : "")} is not supported: llama-aot runs SentencePiece vocabularies only");
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw new ConversionException($"{path}: the BPE model has no vocab object");

        var byId = new SortedDictionary<int, string>();
        foreach (var entry in vocab.EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            if (id < 0 || !byId.TryAdd(id, entry.Name))
                throw new ConversionException($"{path}: token id {id} ('{entry.Name}') is negative or given twice");
        }
        if (doc.RootElement.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
            foreach (var a in added.EnumerateArray())
                byId.TryAdd(a.GetProperty("id").GetInt32(), a.GetProperty("content").GetString() ?? "");
        int n = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        if (byId.Count != n)
            throw new ConversionException($"{path}: token ids are not contiguous from 0 ({byId.Count} tokens, largest id {n - 1})");

        var tokens = byId.Values.ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            index.TryAdd(tokens[i], i);
        var rank = new int?[n];
        if (model.TryGetProperty("merges", out var merges) && merges.ValueKind == JsonValueKind.Array)
        {
            int r = 0;
            foreach (var m in merges.EnumerateArray())
            {
                string merged = m.ValueKind == JsonValueKind.Array
                    ? string.Concat(m.EnumerateArray().Select(p => p.GetString()))
                    : (m.GetString() ?? "").Replace(" ", "", StringComparison.Ordinal);
                if (index.TryGetValue(merged, out int id))
                    rank[id] ??= r;
                r++;
            }
        }
        int mergeCount = rank.Count(x => x is not null);
        var scores = new List<float>(n);
        var types = new List<TokenType>(n);
        string? unk = model.TryGetProperty("unk_token", out var u) ? u.GetString() : null;
        for (int i = 0; i < n; i++)
        {
            scores.Add(rank[i] is { } ri ? -ri : -(mergeCount + i));
            types.Add(tokens[i] == unk ? TokenType.Unknown
                : HuggingFaceConverter.ByteToken().IsMatch(tokens[i]) ? TokenType.Byte
                : TokenType.Normal);
        }
        if (added.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in added.EnumerateArray())
            {
                int id = a.GetProperty("id").GetInt32();
                if (types[id] == TokenType.Unknown)
                    continue;
                bool special = a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                types[id] = special ? TokenType.Control : TokenType.UserDefined;
                scores[id] = AddedTokenScore;
            }
        }
        return (tokens, scores, types);
    }

    /// <summary>added_tokens.json and tokenizer_config.json's added_tokens_decoder, as convert_hf_to_gguf.py applies them.</summary>
    private static void ApplyAddedTokens(string directory, List<string> tokens, List<float> scores, List<TokenType> types)
    {
        void Set(int id, string text, TokenType type, string source)
        {
            if (id < 0 || id > tokens.Count)
                throw new ConversionException($"{source}: added token '{text}' has id {id}, but the vocabulary has {tokens.Count} tokens");
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
            using var doc = HuggingFaceConverter.ParseJson(addedTokens);
            foreach (var p in doc.RootElement.EnumerateObject().OrderBy(p => p.Value.GetInt32()))
                Set(p.Value.GetInt32(), p.Name, TokenType.UserDefined, addedTokens);
        }
        string tokenizerConfig = Path.Combine(directory, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using var doc = HuggingFaceConverter.ParseJson(tokenizerConfig);
            if (doc.RootElement.TryGetProperty("added_tokens_decoder", out var decoder) && decoder.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in decoder.EnumerateObject().OrderBy(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture)))
                {
                    int id = int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture);
                    string text = p.Value.GetProperty("content").GetString() ?? "";
                    bool special = p.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                    if (id < types.Count && types[id] is TokenType.Unknown or TokenType.Byte)
                        continue; // <unk> and byte pieces keep their own types
                    Set(id, special ? text : text.Replace('\u2581', ' '), special ? TokenType.Control : TokenType.UserDefined, tokenizerConfig);
                }
            }
        }
    }
}
