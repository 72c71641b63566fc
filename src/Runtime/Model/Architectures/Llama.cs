using LlamaAot.Gguf;
using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// llama (llama.cpp's src/models/llama.cpp): Llama 1/2/3.x, Mistral, TinyLlama, SmolLM2. Pre-norm blocks of
/// grouped-query attention with "normal" RoPE and a SwiGLU feed-forward. Optional: <c>output.weight</c> (absent =
/// the output shares the token embeddings) and <c>rope_freqs.weight</c> (llama3 rope scaling: one divisor per
/// rotated pair).
/// <para>Also smollm3 (src/models/smollm3.cpp, SmolLM3): the same graph, except that every fourth layer (l with
/// (l + 1) % 4 == 0, a step llama.cpp fixes rather than reads) applies no rotary embedding; no <c>rope_freqs.weight</c>.</para>
/// </summary>
internal sealed unsafe class Llama : Architecture
{
    /// <summary>The weights of one block.</summary>
    private sealed class Layer
    {
        public required float[] AttnNorm { get; init; }              // [nEmbd]
        public required AttentionProjections Attn { get; init; }
        public required float[] FfnNorm { get; init; }               // [nEmbd]
        public required GatedFeedForward Ffn { get; init; }
    }

    private readonly Ends _ends;
    private readonly Layer[] _layers;
    private readonly Rope _rope;
    private readonly int _noRopeLayerStep; // 0: every layer rotates
    private readonly AttentionOptions _attention;

    private Llama(ModelConfig config, Ends ends, Layer[] layers, Rope rope, int noRopeLayerStep) : base(config)
    {
        _ends = ends;
        _layers = layers;
        _rope = rope;
        _noRopeLayerStep = noRopeLayerStep;
        _attention = AttentionOptions.Default(config.HeadDim);
    }

    /// <summary>Binds llama's tensors (llama.cpp's llama_model_llama::load_arch_tensors); reads no keys of its own.</summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        var (ends, layers) = BindLayers(c, b);
        var freqFactors = b.OptionalVector("rope_freqs.weight", c.NRot / 2);
        return new Llama(c, ends, layers, new Rope(c.NRot, c.RopeFreqBase, c.RopeFreqScale, freqFactors), noRopeLayerStep: 0);
    }

    /// <summary>Binds smollm3's tensors (llama_model_smollm3::load_arch_tensors: llama's, no rope factors).</summary>
    public static Architecture BindSmolLM3(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        // llama.cpp asserts it: the rotating layers rotate whole heads.
        if (c.NRot != c.HeadDim)
            throw new GgufFormatException($"invalid model hyperparameters: {keys.Name("rope.dimension_count")} {c.NRot} must equal the head size {c.HeadDim} for smollm3");
        var (ends, layers) = BindLayers(c, b);
        return new Llama(c, ends, layers, new Rope(c.NRot, c.RopeFreqBase, c.RopeFreqScale), noRopeLayerStep: 4);
    }

    private static (Ends, Layer[]) BindLayers(ModelConfig c, TensorBinder b)
    {
        var layers = BindBlocks(c, b, p => new Layer
        {
            AttnNorm = b.Vector(p + "attn_norm.weight", c.NEmbd),
            Attn = AttentionProjections.Bind(c, b, p),
            FfnNorm = b.Vector(p + "ffn_norm.weight", c.NEmbd),
            Ffn = GatedFeedForward.Bind(c, b, p),
        });
        return (Ends.Bind(c, b), layers);
    }

    public override ReadOnlySpan<float> Forward(ForwardState s, UBatch batch)
    {
        int n = batch.Count, nEmbd = Config.NEmbd;
        float* x = s.X, xb = s.Xb;

        s.Embed(_ends.TokenEmbedding, batch, x);                              // x = token_embd[tokens]
        for (int l = 0; l < Config.NLayer; l++)
        {
            var (layer, attn, ffn) = (_layers[l], _layers[l].Attn, _layers[l].Ffn);
            s.Norm(x, xb, layer.AttnNorm, n);                                 // xb = rmsnorm(x) * attn_norm
            s.MatMul.Run(xb, n, [new(attn.Wq, s.Q), new(attn.Wk, s.K), new(attn.Wv, s.V)]); // q, k, v = W xb
            bool rotate = _noRopeLayerStep == 0 || (l + 1) % _noRopeLayerStep != 0;
            s.RotateAndStore(rotate ? _rope : null, l, batch);                // rope(q), rope(k); cache k, v
            s.Attention.Run(s.Pool, l, s.Q, batch, s.Att, _attention);        // att = softmax(q k^T * scale) v
            s.MatMul.Run(s.Att, n, new MatMulTarget(attn.Wo, xb));            // xb = Wo att
            s.Add(x, xb, n * nEmbd);                                          // x += xb
            s.Norm(x, xb, layer.FfnNorm, n);                                  // xb = rmsnorm(x) * ffn_norm
            s.MatMul.Run(xb, n, [new(ffn.Gate, s.Hb), new(ffn.Up, s.Hb2)]);   // hb = W1 xb, hb2 = W3 xb
            s.SwiGluRows(n);                                                  // hb = silu(hb) * hb2
            s.MatMul.Run(s.Hb, n, new MatMulTarget(ffn.Down, xb));            // xb = W2 hb
            s.Add(x, xb, n * nEmbd);                                          // x += xb
        }
        return _ends.Logits(s, batch);                                        // logits = Wout (rmsnorm(x) * output_norm)
    }

    public override IEnumerable<WeightMatrix> Matrices() =>
        _layers.SelectMany(l => l.Attn.Matrices.Concat(l.Ffn.Matrices)).Append(_ends.Output);
}
