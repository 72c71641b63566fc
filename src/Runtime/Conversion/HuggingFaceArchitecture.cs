using LlamaAot.Gguf;

namespace LlamaAot.Conversion;

/// <summary>
/// One Hugging Face architecture as convert_hf_to_gguf.py converts it (its <c>conversion/&lt;family&gt;.py</c> class):
/// the <c>architectures</c> names it takes, the GGUF architecture it writes, transformers' defaults for what
/// config.json leaves out, its tensors (GGUF name, shape, safetensors name, what is done to the data), its
/// <c>{arch}.*</c> metadata, and the tensors computed from config.json. Each architecture is one nested class in
/// <c>HuggingFaceArchitectures/</c>, listed once in <see cref="All"/>; the converter itself knows none of them.
/// </summary>
/// <param name="name">The <c>general.architecture</c> written (the prefix of its metadata keys).</param>
/// <param name="hfNames">config.json <c>architectures</c> names converted by this class.</param>
/// <param name="defaults">transformers' defaults (the model's config class) for keys config.json may leave out.</param>
internal abstract partial class HuggingFaceArchitecture(string name, IReadOnlyList<string> hfNames, ConfigDefaults defaults)
{
    /// <summary>Every architecture llama-aot converts; the first is the one a config.json without
    /// <c>architectures</c> is read as.</summary>
    public static readonly IReadOnlyList<HuggingFaceArchitecture> All = [new Llama(), new Qwen2(), new Qwen3(), new Gemma2(), new Gemma3(), new Phi3(), new SmolLM3()];

    public static HuggingFaceArchitecture? Find(string hfName) => All.FirstOrDefault(a => a.HfNames.Contains(hfName));

    public IReadOnlyList<string> HfNames => hfNames;

    public string Name => name;

    public ConfigDefaults Defaults => defaults;

    /// <summary>What is added to every norm weight on the way (Gemma's RMSNorm multiplies by 1 + w; llama.cpp's by w).</summary>
    public virtual float NormShift => 0;

    /// <summary>Safetensors tensors dropped, as the architecture's filter_tensors does (Gemma 2: lm_head, always tied).</summary>
    public virtual IReadOnlyList<string> DroppedTensors => [];

    /// <summary>The <c>tokenizer.ggml.add_space_prefix</c> the converter writes whatever the tokenizer says, or null.</summary>
    public virtual bool? AddSpacePrefix => null;

    /// <summary>Whether tokenizer_config.json's <c>add_prefix_space</c>, when set, becomes
    /// <c>tokenizer.ggml.add_space_prefix</c> (LlamaModel.set_vocab).</summary>
    public virtual bool ReadsAddPrefixSpace => false;

    /// <summary>The tensors outside the layers.</summary>
    public virtual IEnumerable<TensorRule> GlobalTensors(HuggingFaceConfig c) =>
    [
        Weight("token_embd", "model.embed_tokens", c.NEmbd, c.VocabSize),
        Norm("output_norm", "model.norm", c.NEmbd),
        Weight("output", "lm_head", c.NEmbd, c.VocabSize) with { Optional = c.TieWordEmbeddings },
    ];

    /// <summary>The tensors of one layer, named without their prefixes (<c>blk.N.</c>, <c>model.layers.N.</c>).</summary>
    public abstract IEnumerable<TensorRule> LayerTensors(HuggingFaceConfig c);

    /// <summary>Adds the <c>{arch}.*</c> keys: by default TextModel.set_gguf_parameters's, the sizes and the rope.</summary>
    public virtual void AddMetadata(ArchitectureMetadata m, HuggingFaceConfig c)
    {
        AddShape(m, c);
        AddRope(m, c);
    }

    /// <summary>F32 tensors computed from config.json (rope factors).</summary>
    public virtual IEnumerable<(string Name, float[] Values)> ComputedTensors(HuggingFaceConfig c) => [];

    /// <summary>
    /// TextModel.set_gguf_parameters's sizes: context length, embedding and feed-forward widths, layers, heads, RMSNorm
    /// epsilon, and the head size when it is stated.
    /// </summary>
    protected void AddShape(ArchitectureMetadata m, HuggingFaceConfig c)
    {
        m.Add("context_length", c.Int("max_position_embeddings", Defaults.ContextLength));
        m.Add("embedding_length", c.NEmbd);
        m.Add("block_count", c.NLayer);
        m.Add("feed_forward_length", c.NFf);
        m.Add("attention.head_count", c.NHead);
        m.Add("attention.head_count_kv", c.NHeadKv);
        m.Add("attention.layer_norm_rms_epsilon", c.Float("rms_norm_eps", Defaults.RmsEps));
        if (c.HeadDimStated)
        {
            m.Add("attention.key_length", c.HeadDim);
            m.Add("attention.value_length", c.HeadDim);
        }
    }

    /// <summary>
    /// TextModel.set_gguf_parameters's rope: the base, and linear scaling's factor. Other scaling types are the
    /// architecture's own (<paramref name="ownTypes"/>, handled by it) or refused naming them.
    /// </summary>
    protected void AddRope(ArchitectureMetadata m, HuggingFaceConfig c, params string[] ownTypes)
    {
        c.RequireRopeScaling(["linear", .. ownTypes]);
        m.Add("rope.freq_base", c.RopeTheta(Defaults.RopeTheta));
        if (c.RopeScalingType == "linear")
        {
            m.Add("rope.scaling.type", "linear");
            m.Add("rope.scaling.factor", (float)c.RopeDouble("factor"));
        }
    }

    /// <summary>
    /// Llama's block: input norm, attention (with <paramref name="attentionExtras"/>: biases, q/k norms), norm,
    /// gated feed-forward network.
    /// </summary>
    protected static IEnumerable<TensorRule> LlamaBlock(HuggingFaceConfig c, bool permute, params IEnumerable<TensorRule> attentionExtras) =>
    [
        Norm("attn_norm", "input_layernorm", c.NEmbd),
        .. Attention(c, permute),
        .. attentionExtras,
        Norm("ffn_norm", "post_attention_layernorm", c.NEmbd),
        .. FeedForward(c),
    ];

    /// <summary>The q, k, v and output projections (q/k rows permuted into llama.cpp's rope order when
    /// <paramref name="permute"/>).</summary>
    protected static IEnumerable<TensorRule> Attention(HuggingFaceConfig c, bool permute) =>
    [
        Weight("attn_q", "self_attn.q_proj", c.NEmbd, c.QDim) with { PermuteHeads = permute ? c.NHead : null },
        Weight("attn_k", "self_attn.k_proj", c.NEmbd, c.KvDim) with { PermuteHeads = permute ? c.NHeadKv : null },
        Weight("attn_v", "self_attn.v_proj", c.NEmbd, c.KvDim),
        Weight("attn_output", "self_attn.o_proj", c.QDim, c.NEmbd),
    ];

    /// <summary>The gated feed-forward network: gate, up, down.</summary>
    protected static IEnumerable<TensorRule> FeedForward(HuggingFaceConfig c) =>
    [
        Weight("ffn_gate", "mlp.gate_proj", c.NEmbd, c.NFf),
        Weight("ffn_up", "mlp.up_proj", c.NEmbd, c.NFf),
        Weight("ffn_down", "mlp.down_proj", c.NFf, c.NEmbd),
    ];

    /// <summary>A matrix: <paramref name="rows"/> rows of <paramref name="rowLength"/> values (ggml shape [rowLength, rows]).</summary>
    protected static TensorRule Weight(string name, string source, long rowLength, long rows) => new(name + ".weight", source + ".weight", [rowLength, rows]);

    /// <summary>A bias; optional, as llama.cpp loads them.</summary>
    protected static TensorRule Bias(string name, string source, long length) => new(name + ".bias", source + ".bias", [length]) { Optional = true };

    /// <summary>A norm weight: gains <see cref="NormShift"/>.</summary>
    protected static TensorRule Norm(string name, string source, long length) => new(name + ".weight", source + ".weight", [length]) { IsNorm = true };
}

/// <summary>transformers' defaults for keys a config.json may leave out.</summary>
/// <param name="HeadDim">The head size when config.json has no head_dim; null for n_embd / n_head.</param>
internal sealed record ConfigDefaults(int ContextLength, float RmsEps, float RopeTheta, bool TiedEmbeddings, int? HeadDim = null);

/// <summary>A tensor of the output: its GGUF name, ggml shape (row length first), the safetensors tensor it is read
/// from, and what is done on the way: q/k rows permuted per head, norms shifted.</summary>
internal sealed record TensorRule(string Name, string Source, long[] Shape)
{
    public int? PermuteHeads { get; init; }
    public bool IsNorm { get; init; }

    /// <summary>Absent from the safetensors, the tensor is left out (a bias, a tied output).</summary>
    public bool Optional { get; init; }
}

/// <summary>Writes an architecture's <c>{arch}.*</c> keys, with the types convert_hf_to_gguf.py's GGUFWriter gives them.</summary>
internal sealed class ArchitectureMetadata(GgufWriter writer, string architecture)
{
    public void Add(string key, int value) => writer.Add($"{architecture}.{key}", checked((uint)value));

    public void Add(string key, float value) => writer.Add($"{architecture}.{key}", value);

    public void Add(string key, string value) => writer.Add($"{architecture}.{key}", value);
}
