using LlamaAot.Gguf;
using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// gemma3 (llama.cpp's src/models/gemma3.cpp): the text model of Gemma 3. Gemma 2's block (<see cref="Gemma2.Layer"/>)
/// with a per-head RMSNorm of q and k before rope and no attention soft-cap; a sliding window on five layers of six
/// (attention.sliding_window_pattern), whose rope has its own base (rope.freq_base_swa, 10000) and no scaling, the
/// global layers using rope.freq_base and its scaling. The output shares the token embeddings unless the file has
/// output.weight; a final soft-cap only when the file gives one.
/// </summary>
internal sealed unsafe class Gemma3 : Architecture
{
    private readonly Ends _ends;
    private readonly Gemma2.Layer[] _layers;
    private readonly float[][] _qNorm, _kNorm;     // per layer [headDim]
    private readonly Rope _localRope, _globalRope; // of the sliding-window layers, of the others
    private readonly float _queryScale;
    private readonly AttentionOptions[] _attention; // per layer
    private readonly float _finalSoftCap;           // 0 = none

    private Gemma3(ModelConfig config, Ends ends, Gemma2.Layer[] layers, float[][] qNorm, float[][] kNorm, float freqBaseSwa, float finalSoftCap)
        : base(config)
    {
        _ends = ends;
        _layers = layers;
        _qNorm = qNorm;
        _kNorm = kNorm;
        _localRope = new Rope(config.NRot, freqBaseSwa, 1, neox: true);
        _globalRope = new Rope(config.NRot, config.RopeFreqBase, config.RopeFreqScale, neox: true);
        _queryScale = Gemma2.QueryScale(config, largest: config.NLayer == 62);
        _attention = Enumerable.Range(0, config.NLayer).Select(l => new AttentionOptions(1, 0, config.LayerWindow(l))).ToArray();
        _finalSoftCap = finalSoftCap;
    }

    /// <summary>
    /// gemma3's sliding window (llama_model_gemma3::load_arch_hparams): only when attention.sliding_window is given,
    /// on the layers of attention.sliding_window_pattern, by default five of every six.
    /// </summary>
    internal static ModelConfig WithSlidingWindow(ModelConfig c, ArchitectureKeys keys) =>
        c.WithSlidingWindow(keys, keys.GetInt32("attention.sliding_window", 0), defaultPattern: 6);

    /// <summary>
    /// Reads gemma3's keys (its window; the local rope base, 10000 unless given; a final soft-cap only when given)
    /// and binds its tensors.
    /// </summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        c = WithSlidingWindow(c, keys);
        float freqBaseSwa = keys.GetSingle("rope.freq_base_swa", 10000);
        float finalSoftCap = keys.GetSingle("final_logit_softcapping", 0);
        if (finalSoftCap < 0)
            throw new GgufFormatException($"invalid model hyperparameters: {keys.Name("final_logit_softcapping")} {finalSoftCap} must not be negative");
        var layers = BindBlocks(c, b, p => Gemma2.Layer.Bind(c, b, p));
        var qNorm = Enumerable.Range(0, c.NLayer).Select(i => b.Vector($"blk.{i}.attn_q_norm.weight", c.HeadDim)).ToArray();
        var kNorm = Enumerable.Range(0, c.NLayer).Select(i => b.Vector($"blk.{i}.attn_k_norm.weight", c.HeadDim)).ToArray();
        return new Gemma3(c, Ends.Bind(c, b), layers, qNorm, kNorm, freqBaseSwa, finalSoftCap);
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
            s.NormHeads(s.Q, _qNorm[l], Config.NHead, n);                     // q = rmsnorm(q) * attn_q_norm, per head
            s.NormHeads(s.K, _kNorm[l], Config.NHeadKv, n);                   // k = rmsnorm(k) * attn_k_norm, per head
            s.RotateAndStore(Config.LayerWindow(l) > 0 ? _localRope : _globalRope, l, batch); // rope(q), rope(k); cache k, v
            s.Scale(s.Q, _queryScale, n, Config.QDim);                        // q *= f_attention_scale
            s.Attention.Run(s.Pool, l, s.Q, batch, s.Att, _attention[l]);     // att = softmax(q k^T) v, in the layer's window
            layer.AfterAttention(s, n, nEmbd);                                // x += post-norms of attention and GeGLU
        }
        var logits = _ends.Logits(s, batch);                                  // logits = Wout (rmsnorm(x) * output_norm)
        if (_finalSoftCap > 0)
            s.SoftCap(s.Logits, _finalSoftCap, logits.Length / Config.NVocab, Config.NVocab); // logits = cap tanh(logits / cap)
        return logits;
    }

    public override IEnumerable<WeightMatrix> Matrices() => _layers.SelectMany(l => l.Matrices()).Append(_ends.Output);
}
