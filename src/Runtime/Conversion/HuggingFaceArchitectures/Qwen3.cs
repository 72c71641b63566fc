namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>Qwen 3 (convert_hf_to_gguf.py's Qwen3Model): Qwen 2 without biases, with per-head RMSNorm weights
    /// of q and k; the head size is head_dim (128 by default), not n_embd / n_head.</summary>
    internal sealed class Qwen3() : HuggingFaceArchitecture("qwen3", ["Qwen3ForCausalLM"],
        new(ContextLength: 32768, RmsEps: 1e-6f, RopeTheta: 10000f, TiedEmbeddings: false, HeadDim: 128))
    {
        public override IEnumerable<TensorRule> LayerTensors(HuggingFaceConfig c) => LlamaBlock(c, permute: false,
            Norm("attn_q_norm", "self_attn.q_norm", c.HeadDim),
            Norm("attn_k_norm", "self_attn.k_norm", c.HeadDim));
    }
}
