using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>The hyperparameters of a llama-architecture model, as its GGUF <c>llama.*</c> keys state them.</summary>
/// <param name="NCtxTrain">Training context length (<c>llama.context_length</c>).</param>
/// <param name="NRot">Dimensions rotated by RoPE; the head size for llama models.</param>
/// <param name="RopeFreqBase">RoPE base (theta); llama.cpp's default 10000 when a source says nothing.</param>
public sealed record LlamaHyperparameters(
    int NCtxTrain, int NEmbd, int NLayer, int NFf, int NHead, int NHeadKv, int NRot, float RmsEps, float RopeFreqBase = 10000f)
{
    public int HeadDim => NEmbd / NHead;

    public int KvDim => NHeadKv * HeadDim;
}

/// <summary>
/// A SentencePiece vocabulary as GGUF stores it (<c>tokenizer.ggml.model = "llama"</c>): piece texts with spaces as
/// U+2581, scores, token types, and the special token ids.
/// </summary>
public sealed record SpmVocabulary(string[] Tokens, float[] Scores, TokenType[] Types) : IGgufVocabulary
{
    public int UnknownId { get; init; }
    public int BosId { get; init; } = 1;
    public int EosId { get; init; } = 2;

    /// <summary>Padding token id, or null for none.</summary>
    public int? PaddingId { get; init; }

    /// <summary>Whether the tokenizer adds BOS / EOS; null writes no key (llama.cpp's SPM defaults: BOS yes, EOS no).</summary>
    public bool? AddBos { get; init; }

    public bool? AddEos { get; init; }

    /// <summary>Whether a space is put before the text (SentencePiece's add_dummy_prefix); null writes no key (yes).</summary>
    public bool? AddSpacePrefix { get; init; }

    /// <summary><c>tokenizer.chat_template</c> keys (see <see cref="BpeVocabulary.SpecialTokens"/>), written last.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> ChatTemplates { get; init; } = [];

    void IGgufVocabulary.AddTo(GgufWriter writer) => LlamaGgufMetadata.AddVocabulary(writer, this);
}

/// <summary>
/// A byte-level BPE vocabulary as GGUF stores it (<c>tokenizer.ggml.model = "gpt2"</c>): the pre-tokenizer's name,
/// token texts in GPT-2's byte-to-character spelling (added tokens as they are), token types, and merges "a b" by
/// rank, then what convert_hf_to_gguf.py's SpecialVocab adds.
/// </summary>
public sealed record BpeVocabulary(string Pre, string[] Tokens, TokenType[] Types, string[] Merges) : IGgufVocabulary
{
    /// <summary>
    /// The keys SpecialVocab writes after the merges, in its order: special token ids, add_bos/add_eos/add_sep, the
    /// chat template(s), normalizer flags.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> SpecialTokens { get; init; } = [];

    /// <summary>Whether a space is put before the text; null writes no key.</summary>
    public bool? AddSpacePrefix { get; init; }

    void IGgufVocabulary.AddTo(GgufWriter writer) => LlamaGgufMetadata.AddVocabulary(writer, this);
}

/// <summary>A vocabulary a converter writes as <c>tokenizer.*</c> metadata.</summary>
internal interface IGgufVocabulary
{
    void AddTo(GgufWriter writer);
}

/// <summary>
/// Writes the metadata of a llama-architecture GGUF: one place for the key names and their types, shared by the
/// converters and <see cref="Model.RandomModel"/>.
/// </summary>
public static class LlamaGgufMetadata
{
    /// <summary>The value converters write for "no such token" (ggml writes -1 as a uint32).</summary>
    private const uint NoToken = uint.MaxValue;

    /// <summary>Adds <c>general.architecture</c>, <c>general.name</c> and the <c>llama.*</c> hyperparameters.</summary>
    public static void AddHyperparameters(GgufWriter writer, string name, LlamaHyperparameters h)
    {
        writer.Add("general.architecture", "llama");
        writer.Add("general.name", name);
        writer.Add("llama.context_length", (uint)h.NCtxTrain);
        writer.Add("llama.embedding_length", (uint)h.NEmbd);
        writer.Add("llama.block_count", (uint)h.NLayer);
        writer.Add("llama.feed_forward_length", (uint)h.NFf);
        writer.Add("llama.rope.dimension_count", (uint)h.NRot);
        writer.Add("llama.attention.head_count", (uint)h.NHead);
        writer.Add("llama.attention.head_count_kv", (uint)h.NHeadKv);
        writer.Add("llama.attention.layer_norm_rms_epsilon", h.RmsEps);
        writer.Add("llama.rope.freq_base", h.RopeFreqBase);
    }

    /// <summary>Adds <c>general.file_type</c>, and <c>general.quantization_version</c> when the type is quantized.</summary>
    public static void AddFileType(GgufWriter writer, LlamaFileType fileType)
    {
        writer.Add("general.file_type", (uint)fileType);
        if (fileType is not (LlamaFileType.AllF32 or LlamaFileType.MostlyF16 or LlamaFileType.MostlyBF16))
            writer.Add("general.quantization_version", 2u);
    }

    /// <summary>Adds the <c>tokenizer.ggml.*</c> keys of a SentencePiece vocabulary.</summary>
    public static void AddVocabulary(GgufWriter writer, SpmVocabulary v)
    {
        int n = v.Tokens.Length;
        if (v.Scores.Length != n || v.Types.Length != n)
            throw new ArgumentException($"vocabulary has {n} tokens but {v.Scores.Length} scores and {v.Types.Length} types");
        writer.Add("tokenizer.ggml.model", Vocabulary.SpmModel);
        writer.Add("tokenizer.ggml.tokens", v.Tokens);
        writer.Add("tokenizer.ggml.scores", v.Scores);
        writer.Add("tokenizer.ggml.token_type", Array.ConvertAll(v.Types, t => (int)t));
        writer.Add("tokenizer.ggml.unknown_token_id", (uint)v.UnknownId);
        writer.Add("tokenizer.ggml.bos_token_id", (uint)v.BosId);
        writer.Add("tokenizer.ggml.eos_token_id", (uint)v.EosId);
        writer.Add("tokenizer.ggml.seperator_token_id", NoToken); // ggml's spelling
        writer.Add("tokenizer.ggml.padding_token_id", v.PaddingId is { } pad ? (uint)pad : NoToken);
        if (v.AddBos is { } addBos)
            writer.Add("tokenizer.ggml.add_bos_token", addBos);
        if (v.AddEos is { } addEos)
            writer.Add("tokenizer.ggml.add_eos_token", addEos);
        if (v.AddSpacePrefix is { } addSpacePrefix)
            writer.Add("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        foreach (var (key, value) in v.ChatTemplates)
            writer.Add(key, value);
    }

    /// <summary>Adds the <c>tokenizer.*</c> keys of a byte-level BPE vocabulary, in convert_hf_to_gguf.py's order.</summary>
    public static void AddVocabulary(GgufWriter writer, BpeVocabulary v)
    {
        if (v.Types.Length != v.Tokens.Length)
            throw new ArgumentException($"vocabulary has {v.Tokens.Length} tokens but {v.Types.Length} types");
        if (v.AddSpacePrefix is { } addSpacePrefix)
            writer.Add("tokenizer.ggml.add_space_prefix", addSpacePrefix);
        writer.Add("tokenizer.ggml.model", "gpt2");
        writer.Add("tokenizer.ggml.pre", v.Pre);
        writer.Add("tokenizer.ggml.tokens", v.Tokens);
        writer.Add("tokenizer.ggml.token_type", Array.ConvertAll(v.Types, t => (int)t));
        if (v.Merges.Length > 0)
            writer.Add("tokenizer.ggml.merges", v.Merges);
        foreach (var (key, value) in v.SpecialTokens)
            writer.Add(key, value);
    }

    /// <summary>Copies every <c>tokenizer.*</c> key of another GGUF file.</summary>
    public static void CopyVocabulary(GgufWriter writer, GgufMetadata source)
    {
        foreach (string key in source.Keys.Where(k => k.StartsWith("tokenizer.", StringComparison.Ordinal)))
            writer.Add(key, source[key]);
    }

    /// <summary>Spaces in a piece as SentencePiece writes them (U+2581, "▁").</summary>
    public static string EscapeSpaces(string piece) => piece.Replace(' ', '\u2581');
}
