namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>
    /// Gemma 2 (convert_hf_to_gguf.py's Gemma2Model): always tied output (lm_head is dropped), attention and final
    /// logit soft-caps, sliding window (on alternate layers, which llama.cpp knows). The converter leaves out
    /// rope.freq_base (llama.cpp then takes 10000); it is written here from rope_theta, the same for every Gemma 2 and
    /// right for a config that says otherwise.
    /// </summary>
    internal sealed class Gemma2() : Gemma("gemma2", ["Gemma2ForCausalLM"],
        new(ContextLength: 8192, RmsEps: 1e-6f, RopeTheta: 10000f, TiedEmbeddings: true, HeadDim: 256))
    {
        protected override int LayersOf27B => 46;

        public override IReadOnlyList<string> DroppedTensors => ["lm_head.weight"];

        public override IEnumerable<TensorRule> GlobalTensors(HuggingFaceConfig c) => base.GlobalTensors(c).Where(t => t.Name != "output.weight");

        public override void AddMetadata(ArchitectureMetadata m, HuggingFaceConfig c)
        {
            CheckQueryScale(c);
            AddShape(m, c);
            AddRope(m, c);
            // null turns a soft-cap off in transformers, where llama.cpp's gemma2 always applies one.
            c.RefuseNull("attn_logit_softcapping", "Gemma 2 without an attention soft-cap");
            c.RefuseNull("final_logit_softcapping", "Gemma 2 without a final logit soft-cap");
            m.Add("attn_logit_softcapping", c.Float("attn_logit_softcapping", 50f));
            m.Add("final_logit_softcapping", c.Float("final_logit_softcapping", 30f));
            m.Add("attention.sliding_window", c.Int("sliding_window", 4096));
        }
    }
}
