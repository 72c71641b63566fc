using LlamaAot.Gguf;
using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// smollm3 (llama.cpp's src/models/smollm3.cpp): SmolLM3. llama's block, except that every fourth layer (the layers
/// l with (l + 1) % 4 == 0, a step llama.cpp fixes rather than reads) applies no rotary embedding to q and k. No
/// <c>rope_freqs.weight</c>. Optional: <c>output.weight</c> (absent = tied to the token embeddings).
/// </summary>
internal sealed unsafe class SmolLM3 : Architecture
{
    /// <summary>llama.cpp's hparams.n_no_rope_layer_step for smollm3.</summary>
    private const int NoRopeLayerStep = 4;

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
    private readonly AttentionOptions _attention;

    private SmolLM3(ModelConfig config, Ends ends, Layer[] layers) : base(config)
    {
        _ends = ends;
        _layers = layers;
        _rope = new Rope(config.NRot, config.RopeFreqBase, config.RopeFreqScale);
        _attention = AttentionOptions.Default(config.HeadDim);
    }

    /// <summary>Binds smollm3's tensors (llama.cpp's llama_model_smollm3::load_arch_tensors); reads no keys of its own.</summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        // llama.cpp asserts it: the rope layers rotate whole heads.
        if (c.NRot != c.HeadDim)
            throw new GgufFormatException($"invalid model hyperparameters: {keys.Name("rope.dimension_count")} {c.NRot} must equal the head size {c.HeadDim} for smollm3");
        var layers = BindBlocks(c, b, p => new Layer
        {
            AttnNorm = b.Vector(p + "attn_norm.weight", c.NEmbd),
            Attn = AttentionProjections.Bind(c, b, p),
            FfnNorm = b.Vector(p + "ffn_norm.weight", c.NEmbd),
            Ffn = GatedFeedForward.Bind(c, b, p),
        });
        return new SmolLM3(c, Ends.Bind(c, b), layers);
    }

    public override ReadOnlySpan<float> Forward(ForwardState s, UBatch batch)
    {
        int n = batch.Count, nEmbd = Config.NEmbd;
        float* x = s.X, xb = s.Xb;

        s.Embed(_ends.TokenEmbedding, batch, x);                              // x = token_embd[tokens]
        for (int l = 0; l < Config.NLayer; l++)
        {
            var (layer, attn, ffn) = (_layers[l], _layers[l].Attn, _layers[l].Ffn);
            bool rotate = (l + 1) % NoRopeLayerStep != 0;
            s.Norm(x, xb, layer.AttnNorm, n);                                 // xb = rmsnorm(x) * attn_norm
            s.MatMul.Run(xb, n, [new(attn.Wq, s.Q), new(attn.Wk, s.K), new(attn.Wv, s.V)]); // q, k, v = W xb
            s.RotateAndStore(rotate ? _rope : null, l, batch);                // rope(q), rope(k) but on every 4th layer; cache k, v
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
