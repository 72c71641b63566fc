using LlamaAot.Gguf;
using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// gemma2 (llama.cpp's src/models/gemma2.cpp): Gemma 2. Llama's pre-norm block with the embeddings scaled by
/// sqrt(nEmbd), NEOX rope, q scaled before attention (which then scales by 1), attention scores soft-capped, a norm
/// after attention and after the feed-forward, a GeGLU feed-forward, a soft-capped output, and a sliding window on
/// alternate layers. The output always shares the token embeddings. Norm weights are stored with Gemma's + 1 already
/// added by the converter, so they multiply as llama's do.
/// </summary>
internal sealed unsafe class Gemma2 : Architecture
{
    /// <summary>The weights of one block, shared with Gemma 3. Shapes in ggml order [K, rows].</summary>
    internal sealed class Layer
    {
        public required float[] AttnNorm { get; init; }      // [nEmbd]
        public required WeightMatrix Wq { get; init; }       // [nEmbd, nHead*headDim]
        public required WeightMatrix Wk { get; init; }       // [nEmbd, nHeadKv*headDim]
        public required WeightMatrix Wv { get; init; }       // [nEmbd, nHeadKv*headDim]
        public required WeightMatrix Wo { get; init; }       // [nHead*headDim, nEmbd]
        public required float[] PostAttnNorm { get; init; }  // [nEmbd]
        public required float[] FfnNorm { get; init; }       // [nEmbd]
        public required WeightMatrix Gate { get; init; }     // [nEmbd, nFf]
        public required WeightMatrix Up { get; init; }       // [nEmbd, nFf]
        public required WeightMatrix Down { get; init; }     // [nFf, nEmbd]
        public required float[] PostFfnNorm { get; init; }   // [nEmbd]

        public IEnumerable<WeightMatrix> Matrices() => [Wq, Wk, Wv, Wo, Gate, Up, Down];

        /// <summary>The tensors of the block named <paramref name="p"/> ("blk.{i}.": llama_model_gemma2::load_arch_tensors).</summary>
        public static Layer Bind(ModelConfig c, TensorBinder b, string p)
        {
            return new Layer
            {
                AttnNorm = b.Vector(p + "attn_norm.weight", c.NEmbd),
                Wq = b.Matrix(p + "attn_q.weight", c.NEmbd, c.QDim),
                Wk = b.Matrix(p + "attn_k.weight", c.NEmbd, c.KvDim),
                Wv = b.Matrix(p + "attn_v.weight", c.NEmbd, c.KvDim),
                Wo = b.Matrix(p + "attn_output.weight", c.QDim, c.NEmbd),
                PostAttnNorm = b.Vector(p + "post_attention_norm.weight", c.NEmbd),
                FfnNorm = b.Vector(p + "ffn_norm.weight", c.NEmbd),
                Gate = b.Matrix(p + "ffn_gate.weight", c.NEmbd, c.NFf),
                Up = b.Matrix(p + "ffn_up.weight", c.NEmbd, c.NFf),
                Down = b.Matrix(p + "ffn_down.weight", c.NFf, c.NEmbd),
                PostFfnNorm = b.Vector(p + "post_ffw_norm.weight", c.NEmbd),
            };
        }

        /// <summary>The block from the attention output on, the same in Gemma 2 and 3, for n tokens of nEmbd.</summary>
        public void AfterAttention(ForwardState s, int n, int nEmbd)
        {
            float* x = s.X, xb = s.Xb;
            s.MatMul.Run(s.Att, n, new MatMulTarget(Wo, xb));             // xb = Wo att
            s.Norm(xb, xb, PostAttnNorm, n);                              // xb = rmsnorm(xb) * post_attention_norm
            s.Add(x, xb, n * nEmbd);                                      // x += xb
            s.Norm(x, xb, FfnNorm, n);                                    // xb = rmsnorm(x) * ffn_norm
            s.MatMul.Run(xb, n, [new(Gate, s.Hb), new(Up, s.Hb2)]);       // hb = W1 xb, hb2 = W3 xb
            s.GeGluRows(n);                                               // hb = gelu(hb) * hb2
            s.MatMul.Run(s.Hb, n, new MatMulTarget(Down, xb));            // xb = W2 hb
            s.Norm(xb, xb, PostFfnNorm, n);                               // xb = rmsnorm(xb) * post_ffw_norm
            s.Add(x, xb, n * nEmbd);                                      // x += xb
        }
    }

    private readonly Ends _ends;                   // the output is token_embd
    private readonly Layer[] _layers;
    private readonly Rope _localRope, _globalRope; // of the sliding-window layers, of the others
    private readonly float _queryScale;
    private readonly AttentionOptions[] _attention; // per layer
    private readonly float _finalSoftCap;

    private Gemma2(ModelConfig config, Ends ends, Layer[] layers, float freqBaseSwa, float attnSoftCap, float finalSoftCap)
        : base(config)
    {
        _ends = ends;
        _layers = layers;
        _localRope = new Rope(config.NRot, freqBaseSwa, config.RopeFreqScale, neox: true);
        _globalRope = new Rope(config.NRot, config.RopeFreqBase, config.RopeFreqScale, neox: true);
        _queryScale = QueryScale(config, largest: config.NLayer == 46);
        _attention = Enumerable.Range(0, config.NLayer).Select(l => new AttentionOptions(1, attnSoftCap, config.LayerWindow(l))).ToArray();
        _finalSoftCap = finalSoftCap;
    }

    /// <summary>
    /// llama.cpp's f_attention_scale, the factor on q: 1 / sqrt(nEmbd / nHead) for the largest model of the family
    /// (27B, recognized by its layer count as llama.cpp does), else 1 / sqrt(headDim).
    /// </summary>
    internal static float QueryScale(ModelConfig c, bool largest) => 1.0f / MathF.Sqrt(largest ? c.NEmbd / c.NHead : c.HeadDim);

    /// <summary>
    /// Reads gemma2's keys (llama_model_gemma2::load_arch_hparams: a window of 4096 on alternate layers, the local
    /// layers' rope base that of the others, soft-caps 50 and 30, unless the file says otherwise) and binds its tensors.
    /// </summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        c = c.WithSlidingWindow(keys, keys.GetInt32("attention.sliding_window", 4096), defaultPattern: 2);
        float freqBaseSwa = keys.GetSingle("rope.freq_base_swa", c.RopeFreqBase);
        float attnSoftCap = keys.GetSingle("attn_logit_softcapping", 50), finalSoftCap = keys.GetSingle("final_logit_softcapping", 30);
        if (!(attnSoftCap > 0 && finalSoftCap > 0))
            throw new GgufFormatException($"invalid model hyperparameters: the soft-caps {keys.Name("attn_logit_softcapping")} {attnSoftCap} and {keys.Name("final_logit_softcapping")} {finalSoftCap} must be positive");
        var layers = BindBlocks(c, b, p => Layer.Bind(c, b, p));
        return new Gemma2(c, Ends.Bind(c, b, alwaysTied: true), layers, freqBaseSwa, attnSoftCap, finalSoftCap);
    }

    public override ReadOnlySpan<float> Forward(ForwardState s, UBatch batch)
    {
        int n = batch.Count, nEmbd = Config.NEmbd;
        float* x = s.X, xb = s.Xb;

        s.Embed(_ends.TokenEmbedding, batch, x);                                   // x = token_embd[tokens]
        s.Scale(x, MathF.Sqrt(nEmbd), n, nEmbd);                              // x *= sqrt(nEmbd)
        for (int l = 0; l < Config.NLayer; l++)
        {
            var layer = _layers[l];
            s.Norm(x, xb, layer.AttnNorm, n);                                 // xb = rmsnorm(x) * attn_norm
            s.MatMul.Run(xb, n, [new(layer.Wq, s.Q), new(layer.Wk, s.K), new(layer.Wv, s.V)]); // q, k, v = W xb
            s.RotateAndStore(Config.LayerWindow(l) > 0 ? _localRope : _globalRope, l, batch); // rope(q), rope(k); cache k, v
            s.Scale(s.Q, _queryScale, n, Config.QDim);                        // q *= f_attention_scale
            s.Attention.Run(s.Pool, l, s.Q, batch, s.Att, _attention[l]);     // att = softmax(cap tanh(q k^T / cap)) v, in the window
            layer.AfterAttention(s, n, nEmbd);                                // x += post-norms of attention and GeGLU
        }
        var logits = _ends.Logits(s, batch);                                  // logits = Wout (rmsnorm(x) * output_norm)
        s.SoftCap(s.Logits, _finalSoftCap, logits.Length / Config.NVocab, Config.NVocab); // logits = cap tanh(logits / cap)
        return logits;
    }

    public override IEnumerable<WeightMatrix> Matrices() => _layers.SelectMany(l => l.Matrices()).Append(_ends.Output);
}
