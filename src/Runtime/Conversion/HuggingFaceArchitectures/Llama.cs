namespace LlamaAot.Conversion;

internal abstract partial class HuggingFaceArchitecture
{
    /// <summary>
    /// Llama 1/2/3.x, Mistral, SmolLM (convert_hf_to_gguf.py's LlamaModel): q/k rows permuted from HF's rotate-half
    /// layout to llama.cpp's adjacent pairs; llama3 rope scaling becomes <c>rope_freqs.weight</c>.
    /// </summary>
    internal class Llama : HuggingFaceArchitecture
    {
        public Llama() : this("llama", ["LlamaForCausalLM", "MistralForCausalLM"])
        {
        }

        protected Llama(string name, string[] classes)
            : base(name, classes, new(ContextLength: 2048, RmsEps: 1e-6f, RopeTheta: 10000f, TiedEmbeddings: false))
        {
        }

        public override IEnumerable<TensorRule> LayerTensors(HuggingFaceConfig c) => LlamaBlock(c, permute: true);

        public override bool ReadsAddPrefixSpace => true;

        public override void AddMetadata(ArchitectureMetadata m, HuggingFaceConfig c)
        {
            AddShape(m, c);
            AddRope(m, c, "llama3");
            m.Add("vocab_size", c.VocabSize);
            m.Add("rope.dimension_count", c.HeadDim);
        }

        public override IEnumerable<(string Name, float[] Values)> ComputedTensors(HuggingFaceConfig c)
        {
            if (c.RopeScalingType != "llama3")
                return [];
            return [("rope_freqs.weight", RopeFactors(c.RopeDouble("rope_theta", Defaults.RopeTheta), c.HeadDim,
                c.RopeDouble("factor", 8), c.RopeDouble("low_freq_factor", 1), c.RopeDouble("high_freq_factor", 4),
                c.RopeDouble("original_max_position_embeddings", 8192)))];
        }

        /// <summary>
        /// Llama 3's per-dimension divisors of the rope frequencies (LlamaModel.generate_extra_tensors): 1 for
        /// wavelengths shorter than originalContext / highFreqFactor, <paramref name="factor"/> for those longer than
        /// originalContext / lowFreqFactor, a smooth blend between. The frequencies are float32 (torch's
        /// <c>1 / base ** (arange(0, dim, 2) / dim)</c>), the rest is computed in double and rounded once, which gives
        /// the factors of ../shared/models/arch/llama-F32.gguf bit for bit.
        /// </summary>
        public static float[] RopeFactors(double theta, int headDim, double factor, double lowFreqFactor, double highFreqFactor, double originalContext)
        {
            double lowFreqWavelength = originalContext / lowFreqFactor, highFreqWavelength = originalContext / highFreqFactor;
            var factors = new float[headDim / 2];
            for (int i = 0; i < factors.Length; i++)
            {
                float freq = 1f / (float)Math.Pow((float)theta, (float)(2 * i) / headDim);
                double wavelength = 2 * Math.PI / freq;
                if (wavelength < highFreqWavelength)
                {
                    factors[i] = 1;
                }
                else if (wavelength > lowFreqWavelength)
                {
                    factors[i] = (float)factor;
                }
                else
                {
                    double smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                    factors[i] = (float)(1 / ((1 - smooth) / factor + smooth));
                }
            }
            return factors;
        }
    }

    /// <summary>
    /// SmolLM3 (convert_hf_to_gguf.py's SmolLM3Model, a LlamaModel): llama's tensors and keys under <c>smollm3</c>;
    /// config.json's <c>no_rope_layers</c> is not written, as llama.cpp fixes the rope-less layers (every fourth).
    /// </summary>
    internal sealed class SmolLM3() : Llama("smollm3", ["SmolLM3ForCausalLM"]);
}
