using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// qwen3 (llama.cpp's src/models/qwen3.cpp): Qwen 3 (dense). llama's block with an RMSNorm of each head of q and k
/// (<c>attn_q_norm</c>, <c>attn_k_norm</c>, [headDim]) before NEOX RoPE; the head size is attention.key_length, so
/// nHead * headDim need not be nEmbd. No biases. Optional: <c>output.weight</c> (absent = tied to the token
/// embeddings, as in the small Qwen 3 models).
/// </summary>
internal sealed unsafe class Qwen3 : Architecture
{
    /// <summary>The weights of one block.</summary>
    private sealed class Layer
    {
        public required float[] AttnNorm { get; init; }              // [nEmbd]
        public required AttentionProjections Attn { get; init; }
        public required float[] QNorm { get; init; }                 // [headDim]
        public required float[] KNorm { get; init; }                 // [headDim]
        public required float[] FfnNorm { get; init; }               // [nEmbd]
        public required GatedFeedForward Ffn { get; init; }
    }

    private readonly Ends _ends;
    private readonly Layer[] _layers;
    private readonly Rope _rope;
    private readonly AttentionOptions _attention;

    private Qwen3(ModelConfig config, Ends ends, Layer[] layers) : base(config)
    {
        _ends = ends;
        _layers = layers;
        _rope = new Rope(config.NRot, config.RopeFreqBase, config.RopeFreqScale, neox: true);
        _attention = AttentionOptions.Default(config.HeadDim);
    }

    /// <summary>Binds qwen3's tensors (llama.cpp's llama_model_qwen3::load_arch_tensors); reads no keys of its own.</summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        var layers = BindBlocks(c, b, p => new Layer
        {
            AttnNorm = b.Vector(p + "attn_norm.weight", c.NEmbd),
            Attn = AttentionProjections.Bind(c, b, p),
            QNorm = b.Vector(p + "attn_q_norm.weight", c.HeadDim),
            KNorm = b.Vector(p + "attn_k_norm.weight", c.HeadDim),
            FfnNorm = b.Vector(p + "ffn_norm.weight", c.NEmbd),
            Ffn = GatedFeedForward.Bind(c, b, p),
        });
        return new Qwen3(c, Ends.Bind(c, b), layers);
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
            s.NormHeads(s.Q, layer.QNorm, Config.NHead, n);                   // q[head] = rmsnorm(q[head]) * attn_q_norm
            s.NormHeads(s.K, layer.KNorm, Config.NHeadKv, n);                 // k[head] = rmsnorm(k[head]) * attn_k_norm
            s.RotateAndStore(_rope, l, batch);                                // rope_neox(q), rope_neox(k); cache k, v
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
