using LlamaAot.Diagnostics;
using LlamaAot.Gguf;

namespace LlamaAot.Model;

/// <summary>
/// Hyperparameters of a llama-architecture model, read from the <c>{arch}.*</c> GGUF keys. Dimension names follow
/// the GGUF keys (nEmbd = embedding_length, nFf = feed_forward_length, ...).
/// </summary>
public sealed record LlamaConfig
{
    /// <summary>Architectures that run the llama graph (Mistral and TinyLlama GGUFs say "llama").</summary>
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["llama", "mistral"];

    public required string Architecture { get; init; }
    public required int NVocab { get; init; }
    public required int NEmbd { get; init; }
    public required int NLayer { get; init; }
    public required int NHead { get; init; }
    public required int NHeadKv { get; init; }
    public required int NFf { get; init; }

    /// <summary>The context length the model was trained with.</summary>
    public required int NCtxTrain { get; init; }

    /// <summary>Dimensions rotated by RoPE (rope.dimension_count; the head size by default).</summary>
    public required int NRot { get; init; }
    public required float RopeFreqBase { get; init; }

    /// <summary>1 / rope.scaling.factor for linear scaling, else 1.</summary>
    public required float RopeFreqScale { get; init; }
    public required float RmsEps { get; init; }

    /// <summary>Size of one attention head.</summary>
    public int HeadDim => NEmbd / NHead;

    /// <summary>Width of K and V per token: nHeadKv * headDim.</summary>
    public int KvDim => NHeadKv * HeadDim;

    /// <summary>Query heads sharing one key/value head.</summary>
    public int GroupSize => NHead / NHeadKv;

    public static LlamaConfig FromGguf(GgufMetadata md, int nVocab)
    {
        string arch = md.GetString("general.architecture") ?? throw new GgufFormatException("missing metadata key 'general.architecture'");
        if (!SupportedArchitectures.Contains(arch))
            throw new NotSupportedException($"model architecture {Excerpt.Quote(arch)} is not supported (supported: {string.Join(", ", SupportedArchitectures)})");
        string p = arch + ".";
        int nEmbd = md.GetInt32(p + "embedding_length");
        int nHead = md.GetInt32(p + "attention.head_count");
        int nHeadKv = md.GetInt32(p + "attention.head_count_kv", nHead);
        float ropeScale = 1;
        string? scaling = md.GetString(p + "rope.scaling.type");
        if (scaling is not null and not "none")
        {
            if (scaling != "linear")
                throw new NotSupportedException($"rope scaling {Excerpt.Quote(scaling)} is not supported (only linear)");
            ropeScale = md.GetSingle(p + "rope.scaling.factor", 1);
        }
        var config = new LlamaConfig
        {
            Architecture = arch,
            NVocab = nVocab,
            NEmbd = nEmbd,
            NLayer = md.GetInt32(p + "block_count"),
            NHead = nHead,
            NHeadKv = nHeadKv,
            NFf = md.GetInt32(p + "feed_forward_length"),
            NCtxTrain = md.GetInt32(p + "context_length"),
            NRot = md.GetInt32(p + "rope.dimension_count", nHead > 0 ? nEmbd / nHead : 0),
            RopeFreqBase = md.GetSingle(p + "rope.freq_base", 10000f),
            RopeFreqScale = ropeScale > 0 ? 1 / ropeScale : 1,
            RmsEps = md.GetSingle(p + "attention.layer_norm_rms_epsilon", 1e-5f),
        };
        config.Validate();
        return config;
    }

    private void Validate()
    {
        void Require(bool ok, string what)
        {
            if (!ok)
                throw new GgufFormatException($"invalid model hyperparameters: {what}");
        }
        Require(NEmbd > 0 && NLayer > 0 && NHead > 0 && NFf > 0 && NVocab > 0, $"n_embd {NEmbd}, n_layer {NLayer}, n_head {NHead}, n_ff {NFf} and n_vocab {NVocab} must be positive");
        Require(NEmbd % NHead == 0, $"n_embd {NEmbd} is not a multiple of n_head {NHead}");
        Require(NHeadKv > 0 && NHead % NHeadKv == 0, $"n_head {NHead} is not a multiple of n_head_kv {NHeadKv}");
        Require(NRot > 0 && NRot <= HeadDim && NRot % 2 == 0, $"rope dimension count {NRot} must be even and at most the head size {HeadDim}");
        Require(NCtxTrain > 0, $"context length {NCtxTrain} must be positive");
        Require(RmsEps > 0, $"rms epsilon {RmsEps} must be positive");
    }
}
