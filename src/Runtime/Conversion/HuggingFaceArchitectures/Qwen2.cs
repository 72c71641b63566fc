namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>Qwen 2 / 2.5 (convert_hf_to_gguf.py's Qwen2Model): llama's block with q/k/v biases, rows as HF stores
    /// them (NEOX rope, no permutation), an optional output bias.</summary>
    internal sealed class Qwen2() : HuggingFaceArchitecture("qwen2", ["Qwen2ForCausalLM"],
        new(ContextLength: 32768, RmsEps: 1e-6f, RopeTheta: 10000f, TiedEmbeddings: false))
    {
        public override IEnumerable<TensorRule> GlobalTensors(HuggingFaceConfig c) =>
            [.. base.GlobalTensors(c), Bias("output", "lm_head", c.VocabSize)];

        public override IEnumerable<TensorRule> LayerTensors(HuggingFaceConfig c) => LlamaBlock(c, permute: false,
            Bias("attn_q", "self_attn.q_proj", c.QDim),
            Bias("attn_k", "self_attn.k_proj", c.KvDim),
            Bias("attn_v", "self_attn.v_proj", c.KvDim));
    }
}
