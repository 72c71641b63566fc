using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// llama (llama.cpp's src/models/llama.cpp): Llama 1/2/3.x, Mistral, TinyLlama, SmolLM2. Pre-norm blocks of
/// grouped-query attention with "normal" RoPE and a SwiGLU feed-forward. Optional: <c>output.weight</c> (absent =
/// the output shares the token embeddings) and <c>rope_freqs.weight</c> (llama3 rope scaling: one divisor per
/// rotated pair).
/// </summary>
internal sealed unsafe class Llama : Architecture
{
    /// <summary>The weights of one block. Shapes in ggml order [K, rows].</summary>
    private sealed class Layer
    {
        public required float[] AttnNorm { get; init; }   // [nEmbd]
        public required WeightMatrix Wq { get; init; }    // [nEmbd, nHead*headDim]
        public required WeightMatrix Wk { get; init; }    // [nEmbd, nHeadKv*headDim]
        public required WeightMatrix Wv { get; init; }    // [nEmbd, nHeadKv*headDim]
        public required WeightMatrix Wo { get; init; }    // [nHead*headDim, nEmbd]
        public required float[] FfnNorm { get; init; }    // [nEmbd]
        public required WeightMatrix Gate { get; init; }  // [nEmbd, nFf]  (w1)
        public required WeightMatrix Up { get; init; }    // [nEmbd, nFf]  (w3)
        public required WeightMatrix Down { get; init; }  // [nFf, nEmbd]  (w2)
    }

    private readonly WeightMatrix _tokenEmbedding; // [nEmbd, nVocab]: rows are looked up, not multiplied
    private readonly Layer[] _layers;
    private readonly float[] _outputNorm;          // [nEmbd]
    private readonly WeightMatrix _output;         // [nEmbd, nVocab]; token_embd when tied
    private readonly Rope _rope;
    private readonly AttentionOptions _attention;

    private Llama(ModelConfig config, WeightMatrix tokenEmbedding, Layer[] layers, float[] outputNorm, WeightMatrix output, Rope rope) : base(config)
    {
        _tokenEmbedding = tokenEmbedding;
        _layers = layers;
        _outputNorm = outputNorm;
        _output = output;
        _rope = rope;
        _attention = AttentionOptions.Default(config.HeadDim);
    }

    /// <summary>Binds llama's tensors (llama.cpp's llama_model_llama::load_arch_tensors); reads no keys of its own.</summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        b.RequireBlocks(c.NLayer, "attn_norm.weight");
        var layers = new Layer[c.NLayer];
        for (int i = 0; i < c.NLayer; i++)
        {
            string p = $"blk.{i}.";
            layers[i] = new Layer
            {
                AttnNorm = b.Vector(p + "attn_norm.weight", c.NEmbd),
                Wq = b.Matrix(p + "attn_q.weight", c.NEmbd, c.QDim),
                Wk = b.Matrix(p + "attn_k.weight", c.NEmbd, c.KvDim),
                Wv = b.Matrix(p + "attn_v.weight", c.NEmbd, c.KvDim),
                Wo = b.Matrix(p + "attn_output.weight", c.QDim, c.NEmbd),
                FfnNorm = b.Vector(p + "ffn_norm.weight", c.NEmbd),
                Gate = b.Matrix(p + "ffn_gate.weight", c.NEmbd, c.NFf),
                Up = b.Matrix(p + "ffn_up.weight", c.NEmbd, c.NFf),
                Down = b.Matrix(p + "ffn_down.weight", c.NFf, c.NEmbd),
            };
        }
        var (tokenEmbedding, outputNorm, output) = b.EmbeddingsAndOutput(c);
        var freqFactors = b.OptionalVector("rope_freqs.weight", c.NRot / 2);
        return new Llama(c, tokenEmbedding, layers, outputNorm, output, new Rope(c.NRot, c.RopeFreqBase, c.RopeFreqScale, freqFactors));
    }

    public override ReadOnlySpan<float> Forward(ForwardState s, UBatch batch)
    {
        int n = batch.Count, nEmbd = Config.NEmbd;
        float* x = s.X, xb = s.Xb;

        s.Embed(_tokenEmbedding, batch, x);                                   // x = token_embd[tokens]
        for (int l = 0; l < Config.NLayer; l++)
        {
            var layer = _layers[l];
            s.Norm(x, xb, layer.AttnNorm, n);                                 // xb = rmsnorm(x) * attn_norm
            s.MatMul.Run(xb, n, [new(layer.Wq, s.Q), new(layer.Wk, s.K), new(layer.Wv, s.V)]); // q, k, v = W xb
            s.RotateAndStore(_rope, l, batch);                                // rope(q), rope(k); cache k, v
            s.Attention.Run(s.Pool, l, s.Q, batch, s.Att, _attention);        // att = softmax(q k^T * scale) v
            s.MatMul.Run(s.Att, n, new MatMulTarget(layer.Wo, xb));           // xb = Wo att
            s.Add(x, xb, n * nEmbd);                                          // x += xb
            s.Norm(x, xb, layer.FfnNorm, n);                                  // xb = rmsnorm(x) * ffn_norm
            s.MatMul.Run(xb, n, [new(layer.Gate, s.Hb), new(layer.Up, s.Hb2)]); // hb = W1 xb, hb2 = W3 xb
            s.SwiGluRows(n);                                                  // hb = silu(hb) * hb2
            s.MatMul.Run(s.Hb, n, new MatMulTarget(layer.Down, xb));          // xb = W2 hb
            s.Add(x, xb, n * nEmbd);                                          // x += xb
        }
        int rows = s.KeepLogitRows(x, batch);                                 // the rows whose logits are wanted
        if (rows == 0)
            return default;
        s.Norm(x, xb, _outputNorm, rows);                                     // xb = rmsnorm(x) * output_norm
        s.MatMul.Run(xb, rows, new MatMulTarget(_output, s.Logits));          // logits = Wout xb
        return new ReadOnlySpan<float>(s.Logits, rows * Config.NVocab);
    }

    public override IEnumerable<WeightMatrix> Matrices()
    {
        foreach (var l in _layers)
        {
            yield return l.Wq;
            yield return l.Wk;
            yield return l.Wv;
            yield return l.Wo;
            yield return l.Gate;
            yield return l.Up;
            yield return l.Down;
        }
        yield return _output;
    }
}
