namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>
    /// Phi-3 / 3.5, Phi-4-mini (convert_hf_to_gguf.py's Phi3MiniModel): fused qkv and fused gate/up projections kept
    /// fused; partial rotary (partial_rotary_factor); LongRoPE's long and short factors as tensors, with the original
    /// context length and the attention factor. The converter does not write the head size; it is written here when
    /// config.json gives head_dim, as for the other architectures.
    /// </summary>
    internal sealed class Phi3() : HuggingFaceArchitecture("phi3", ["Phi3ForCausalLM"],
        new(ContextLength: 4096, RmsEps: 1e-5f, RopeTheta: 10000f, TiedEmbeddings: false))
    {
        public override IEnumerable<TensorRule> LayerTensors(HuggingFaceConfig c) =>
        [
            Norm("attn_norm", "input_layernorm", c.NEmbd),
            Weight("attn_qkv", "self_attn.qkv_proj", c.NEmbd, c.QDim + 2 * c.KvDim),
            Weight("attn_output", "self_attn.o_proj", c.QDim, c.NEmbd),
            Norm("ffn_norm", "post_attention_layernorm", c.NEmbd),
            Weight("ffn_up", "mlp.gate_up_proj", c.NEmbd, 2L * c.NFf),
            Weight("ffn_down", "mlp.down_proj", c.NFf, c.NEmbd),
        ];

        public override void AddMetadata(ArchitectureMetadata m, HuggingFaceConfig c)
        {
            c.RequireRopeScaling("longrope", "su");
            AddShape(m, c);
            int originalContext = c.RopeInt("original_max_position_embeddings", Defaults.ContextLength);
            m.Add("rope.scaling.original_context_length", originalContext);
            m.Add("rope.dimension_count", RopeDimensions(c));
            m.Add("rope.freq_base", c.RopeTheta(Defaults.RopeTheta));
            // 0 when config.json has none: how llama.cpp tells Phi-4 from the Phi-3 models, which have one.
            m.Add("attention.sliding_window", c.Has("sliding_window") ? c.Int("sliding_window") : 0);
            // LongRoPE scales q and k by sqrt(1 + ln(s) / ln(n_orig)), s = the context over the original one.
            if (LongRopeFactors(c) is not null)
            {
                double scale = (double)c.Int("max_position_embeddings", Defaults.ContextLength) / originalContext;
                m.Add("rope.scaling.attn_factor", scale > 1 ? (float)Math.Sqrt(1 + Math.Log(scale) / Math.Log(originalContext)) : 1f);
            }
        }

        public override IEnumerable<(string Name, float[] Values)> ComputedTensors(HuggingFaceConfig c) =>
            LongRopeFactors(c) is var (longFactors, shortFactors)
                ? [("rope_factors_long.weight", longFactors), ("rope_factors_short.weight", shortFactors)]
                : [];

        /// <summary>Rotated dimensions per head: int(partial_rotary_factor * n_embd) // n_head, as Python computes it.</summary>
        private static int RopeDimensions(HuggingFaceConfig c)
        {
            double partial = c.RopeDouble("partial_rotary_factor", 1.0);
            return (int)(partial * c.NEmbd) / c.NHead;
        }

        /// <summary>LongRoPE's per-dimension factors for long and short contexts (rope_scaling.long_factor and
        /// short_factor, rope dimensions / 2 each), or null when config.json has none.</summary>
        private static (float[] Long, float[] Short)? LongRopeFactors(HuggingFaceConfig c)
        {
            if (c.RopeFloats("long_factor") is not { } longFactors)
                return null;
            if (c.RopeScalingType is null)
                throw c.Error("rope_scaling has long_factor but no type (longrope)");
            var shortFactors = c.RopeFloats("short_factor") ?? throw c.Error("rope_scaling has long_factor but no short_factor");
            int expected = RopeDimensions(c) / 2;
            foreach (var (key, factors) in new[] { ("long_factor", longFactors), ("short_factor", shortFactors) })
            {
                if (factors.Length != expected)
                    throw c.Error($"rope_scaling.{key} has {factors.Length} values; {c.HfArchitecture} needs rope dimensions / 2 = {expected}");
            }
            return (longFactors, shortFactors);
        }
    }
}
