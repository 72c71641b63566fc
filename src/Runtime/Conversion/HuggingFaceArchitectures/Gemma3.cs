using LlamaAot.Diagnostics;

namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>
    /// Gemma 3's text model (convert_hf_to_gguf.py's Gemma3Model; Gemma3ForConditionalGeneration's text_config and
    /// language_model tensors too): Gemma 2's block with q/k norms and no attention soft-cap; local (sliding-window)
    /// layers with their own rope base. The converter writes the window but not its pattern (llama.cpp then assumes
    /// 6: five local layers, one global); the pattern is written here from config.json, so that a model whose pattern
    /// is not 6 converts right.
    /// </summary>
    internal sealed class Gemma3() : Gemma("gemma3", ["Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"],
        new(ContextLength: 131072, RmsEps: 1e-6f, RopeTheta: 1_000_000f, TiedEmbeddings: true, HeadDim: 256))
    {
        protected override int LayersOf27B => 62;

        protected override IEnumerable<TensorRule> QkNorms(HuggingFaceConfig c) =>
        [
            Norm("attn_q_norm", "self_attn.q_norm", c.HeadDim),
            Norm("attn_k_norm", "self_attn.k_norm", c.HeadDim),
        ];

        public override void AddMetadata(ArchitectureMetadata m, HuggingFaceConfig c)
        {
            CheckQueryScale(c);
            if (c.Has("attn_logit_softcapping"))
                throw c.Error($"attn_logit_softcapping is set, but {c.HfArchitecture} has no attention soft-cap");
            AddShape(m, c);
            AddRope(m, c);
            if (c.Has("final_logit_softcapping"))
                m.Add("final_logit_softcapping", c.Float("final_logit_softcapping"));
            int pattern = SlidingWindowPattern(c);
            if (pattern != 1)
            {
                m.Add("attention.sliding_window", c.Int("sliding_window", 4096));
                m.Add("attention.sliding_window_pattern", pattern);
                m.Add("rope.freq_base_swa", c.SlidingRopeTheta(10000f));
            }
        }

        /// <summary>
        /// Every pattern-th layer is global, the others local (transformers' sliding_window_pattern, default 6; newer
        /// configs list layer_types instead, read back into the pattern they follow). 1: no local layers.
        /// </summary>
        private static int SlidingWindowPattern(HuggingFaceConfig c)
        {
            if (c.Has("sliding_window_pattern") || c.Get("layer_types") is not { } types)
                return c.Int("sliding_window_pattern", 6);
            var local = JsonFile.Array(types, c.Path, "layer_types").EnumerateArray()
                .Select((t, i) => JsonFile.String(t, c.Path, $"layer_types[{i}]") switch
                {
                    "sliding_attention" => true,
                    "full_attention" => false,
                    var other => throw c.Error($"layer_types[{i}] is {Excerpt.Quote(other)}, not sliding_attention or full_attention"),
                }).ToList();
            if (local.Count != c.NLayer)
                throw c.Error($"layer_types lists {local.Count} layers, but num_hidden_layers is {c.NLayer}");
            for (int pattern = 1; pattern <= local.Count + 1; pattern++)
            {
                if (local.Select((l, i) => l == ((i + 1) % pattern != 0)).All(ok => ok))
                    return pattern;
            }
            throw c.Error("layer_types is not every n-th layer global, the others local: llama.cpp's gemma3 cannot express it");
        }
    }
}
