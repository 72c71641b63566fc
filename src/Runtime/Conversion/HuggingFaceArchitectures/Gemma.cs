using System.Globalization;

namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>What Gemma 2 and Gemma 3 share: norms stored as w where the model multiplies by 1 + w (llama.cpp's
    /// files hold 1 + w), norms after attention and after the feed-forward network, and the tokenizer's space prefix
    /// off.</summary>
    internal abstract class Gemma(string name, IReadOnlyList<string> hfNames, ConfigDefaults defaults) : HuggingFaceArchitecture(name, hfNames, defaults)
    {
        public override float NormShift => 1;

        public override bool? AddSpacePrefix => false;

        /// <summary>llama.cpp's gemma graphs know this many layers as the 27B model (see <see cref="CheckQueryScale"/>).</summary>
        protected abstract int LayersOf27B { get; }

        public override IEnumerable<TensorRule> LayerTensors(HuggingFaceConfig c) =>
        [
            Norm("attn_norm", "input_layernorm", c.NEmbd),
            .. Attention(c, permute: false),
            .. QkNorms(c),
            Norm("post_attention_norm", "post_attention_layernorm", c.NEmbd),
            Norm("ffn_norm", "pre_feedforward_layernorm", c.NEmbd),
            .. FeedForward(c),
            Norm("post_ffw_norm", "post_feedforward_layernorm", c.NEmbd),
        ];

        /// <summary>Per-head norms of q and k, where the architecture has them.</summary>
        protected virtual IEnumerable<TensorRule> QkNorms(HuggingFaceConfig c) => [];

        /// <summary>
        /// transformers scales queries by query_pre_attn_scalar^-0.5; llama.cpp, which is not told, by
        /// 1/sqrt(n_embd / n_head) for the 27B model (known by its layer count) and 1/sqrt(head_dim) otherwise
        /// (f_attention_scale). A model where the two differ would convert into other math: refused.
        /// </summary>
        protected void CheckQueryScale(HuggingFaceConfig c)
        {
            int used = c.NLayer == LayersOf27B ? c.NEmbd / c.NHead : c.HeadDim;
            double scalar = c.Double("query_pre_attn_scalar", 256);
            if (scalar != used)
                throw c.Error($"query_pre_attn_scalar {scalar.ToString(CultureInfo.InvariantCulture)}, but llama.cpp's {Name} scales queries by 1/sqrt({used}) for this model");
        }
    }
}
