using LlamaAot.Diagnostics;
using LlamaAot.Gguf;

namespace LlamaAot.Model;

/// <summary>
/// Hyperparameters of a model, read from <c>general.architecture</c> and its <c>{arch}.*</c> GGUF keys (the keys
/// every supported architecture shares; see llama.cpp's llama_model::load_hparams). Dimension names follow the GGUF
/// keys (nEmbd = embedding_length, nFf = feed_forward_length, ...).
/// </summary>
public sealed record ModelConfig
{
    /// <summary>The <c>general.architecture</c> value.</summary>
    public required string Architecture { get; init; }
    public required int NVocab { get; init; }
    public required int NEmbd { get; init; }
    public required int NLayer { get; init; }
    public required int NHead { get; init; }
    public required int NHeadKv { get; init; }
    public required int NFf { get; init; }

    /// <summary>Size of one attention head, of keys and of values (attention.key_length; n_embd / n_head by default).</summary>
    public required int HeadDim { get; init; }

    /// <summary>The context length the model was trained with.</summary>
    public required int NCtxTrain { get; init; }

    /// <summary>Dimensions rotated by RoPE (rope.dimension_count; the head size by default).</summary>
    public required int NRot { get; init; }
    public required float RopeFreqBase { get; init; }

    /// <summary>1 / rope.scaling.factor for linear scaling, else 1.</summary>
    public required float RopeFreqScale { get; init; }
    public required float RmsEps { get; init; }

    /// <summary>
    /// Positions a sliding-window layer attends to: its own and the window - 1 before it (attention.sliding_window,
    /// read by the architectures that have one); 0 without.
    /// </summary>
    public int SlidingWindow { get; init; }

    /// <summary>Which layers attend through the sliding window (set by the architecture; empty = none).</summary>
    public IReadOnlyList<bool> SlidingLayers { get; init; } = [];

    /// <summary>The window of <paramref name="layer"/>: <see cref="SlidingWindow"/> on a sliding layer, else 0 (all positions).</summary>
    public int LayerWindow(int layer) => layer < SlidingLayers.Count && SlidingLayers[layer] ? SlidingWindow : 0;

    /// <summary>Width of the queries of a token: nHead * headDim (need not be nEmbd).</summary>
    public int QDim => NHead * HeadDim;

    /// <summary>Width of K and V per token: nHeadKv * headDim.</summary>
    public int KvDim => NHeadKv * HeadDim;

    /// <summary>Query heads sharing one key/value head.</summary>
    public int GroupSize => NHead / NHeadKv;

    /// <summary>Reads and validates the shared keys; the architecture's own keys are read when it binds its tensors.</summary>
    internal static ModelConfig FromGguf(ArchitectureKeys keys, int nVocab)
    {
        int nEmbd = keys.GetInt32("embedding_length");
        int nHead = keys.GetInt32("attention.head_count");
        int nHeadKv = keys.GetInt32("attention.head_count_kv", nHead);
        // Without key_length the head size is n_embd / n_head, so n_embd must divide evenly (checked before dividing).
        int? keyLength = keys.Contains("attention.key_length") ? keys.GetInt32("attention.key_length") : null;
        if (keyLength is null && nHead > 0 && nEmbd % nHead != 0)
            throw Invalid($"n_embd {nEmbd} is not a multiple of n_head {nHead}");
        int headDim = keyLength ?? (nHead > 0 ? nEmbd / nHead : 0);
        int valueLength = keys.GetInt32("attention.value_length", headDim);
        if (valueLength != headDim)
            throw new NotSupportedException($"{keys.Name("attention.value_length")} {valueLength} differs from the key length {headDim}: heads whose values and keys differ in size are not supported");
        var config = new ModelConfig
        {
            Architecture = keys.Architecture,
            NVocab = nVocab,
            NEmbd = nEmbd,
            NLayer = keys.GetInt32("block_count"),
            NHead = nHead,
            NHeadKv = nHeadKv,
            NFf = keys.GetInt32("feed_forward_length"),
            HeadDim = headDim,
            NCtxTrain = keys.GetInt32("context_length"),
            NRot = keys.GetInt32("rope.dimension_count", headDim),
            RopeFreqBase = keys.GetSingle("rope.freq_base", 10000f),
            RopeFreqScale = ReadRopeScale(keys),
            RmsEps = keys.GetSingle("attention.layer_norm_rms_epsilon", 1e-5f),
        };
        if (keys.GetInt32("expert_count", 0) != 0 || keys.GetInt32("expert_used_count", 0) != 0)
            throw new NotSupportedException($"{keys.Name("expert_count")} {keys.GetInt32("expert_count", 0)}: mixture-of-experts models are not supported");
        if (!keys.GetBool("attention.causal", true))
            throw new NotSupportedException($"{keys.Name("attention.causal")} is false: non-causal (embedding) models are not supported");
        config.Validate();
        return config;
    }

    /// <summary>
    /// Linear scaling divides every angle by rope.scaling.factor (or the older rope.scale_linear). As in llama.cpp, a
    /// factor without a type is linear; "none" ignores it; other types (yarn, longrope) change the math otherwise.
    /// </summary>
    private static float ReadRopeScale(ArchitectureKeys keys)
    {
        string scaling = keys.GetString("rope.scaling.type") ?? "linear";
        float factor = keys.Contains("rope.scaling.factor") ? keys.GetSingle("rope.scaling.factor") : keys.GetSingle("rope.scale_linear", 0);
        if (scaling == "none")
            return 1;
        if (scaling != "linear")
            throw new NotSupportedException($"rope scaling {Excerpt.Quote(scaling)} ({keys.Name("rope.scaling.type")}) is not supported (only linear)");
        return factor > 0 ? 1 / factor : 1;
    }

    private void Validate()
    {
        void Require(bool ok, string what)
        {
            if (!ok)
                throw Invalid(what);
        }
        Require(NEmbd > 0 && NLayer > 0 && NHead > 0 && NFf > 0 && NVocab > 0, $"n_embd {NEmbd}, n_layer {NLayer}, n_head {NHead}, n_ff {NFf} and n_vocab {NVocab} must be positive");
        Require(HeadDim > 0, $"the key length {HeadDim} must be positive");
        Require(NHeadKv > 0 && NHead % NHeadKv == 0, $"n_head {NHead} is not a multiple of n_head_kv {NHeadKv}");
        Require(NRot > 0 && NRot <= HeadDim && NRot % 2 == 0, $"rope dimension count {NRot} must be even and at most the head size {HeadDim}");
        Require(NCtxTrain > 0, $"context length {NCtxTrain} must be positive");
        Require(RmsEps > 0, $"rms epsilon {RmsEps} must be positive");
    }

    private static GgufFormatException Invalid(string what) => new($"invalid model hyperparameters: {what}");

    /// <summary>
    /// This config with a sliding window of <paramref name="window"/> positions (0 = none) on the layers that
    /// attention.sliding_window_pattern names, read as llama.cpp's load_swa_pattern and set_swa_pattern read it: one
    /// bool per layer, or a period n (by default <paramref name="defaultPattern"/>) whose last layer is global, so
    /// layer l slides when l mod n &lt; n - 1, and every layer slides when n is 0.
    /// </summary>
    internal ModelConfig WithSlidingWindow(ArchitectureKeys keys, int window, int defaultPattern)
    {
        const string Key = "attention.sliding_window_pattern";
        if (window < 0)
            throw Invalid($"sliding window {window} must not be negative");
        bool[] sliding;
        if (keys.IsArray(Key))
        {
            sliding = keys.GetArray<bool>(Key)!;
            if (sliding.Length != NLayer)
                throw Invalid($"{keys.Name(Key)} has {sliding.Length} values for {NLayer} layers");
        }
        else
        {
            int n = keys.GetInt32(Key, defaultPattern);
            if (n < 0)
                throw Invalid($"{keys.Name(Key)} {n} must not be negative");
            sliding = Enumerable.Range(0, NLayer).Select(l => n == 0 || l % n < n - 1).ToArray();
        }
        return this with { SlidingWindow = window, SlidingLayers = window > 0 ? sliding : [] };
    }
}
