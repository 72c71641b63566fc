using LlamaAot.Model.Ops;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// phi3 (llama.cpp's src/models/phi3.cpp): Phi-3/3.5, Phi-4-mini, Phi-4. llama's pre-norm block with its products
/// fused: <c>attn_qkv</c> gives q, k and v in one product (rows [q | k | v]) and <c>ffn_up</c> the SwiGLU's gate and
/// up (rows [gate | up], 2 x nFf). NEOX rope on the first rope.dimension_count dimensions of each head (partial
/// rotary) with LongRoPE: each pair's angle divided by its factor of <c>rope_factors_short</c>, or of
/// <c>rope_factors_long</c> when a sequence's context is longer than rope.scaling.original_context_length, and cos
/// and sin multiplied by rope.scaling.attn_factor. q is scaled by 1/sqrt(headDim) after rope, as llama.cpp does, so
/// attention adds no scale of its own. Optional: the two factor tensors (absent = 1) and <c>output.weight</c>.
/// </summary>
internal sealed unsafe class Phi3 : Architecture
{
    /// <summary>The weights of one block. Shapes in ggml order [K, rows].</summary>
    private sealed class Layer
    {
        public required float[] AttnNorm { get; init; }     // [nEmbd]
        public required WeightMatrix Wqkv { get; init; }    // [nEmbd, nHead*headDim + 2*nHeadKv*headDim]
        public required WeightMatrix Wo { get; init; }      // [nHead*headDim, nEmbd]
        public required float[] FfnNorm { get; init; }      // [nEmbd]
        public required WeightMatrix GateUp { get; init; }  // [nEmbd, 2*nFf]
        public required WeightMatrix Down { get; init; }    // [nFf, nEmbd]
    }

    // llama.cpp pads a sequence's context to a multiple of this before comparing it with the original context.
    private const int ContextPadding = 256;

    private readonly Ends _ends;
    private readonly Layer[] _layers;
    private readonly Rope _ropeShort, _ropeLong;
    private readonly int _nCtxOrig;
    private readonly float _qScale;
    private readonly AttentionOptions _attention = new(Scale: 1);

    private Phi3(ModelConfig config, Ends ends, Layer[] layers, Rope ropeShort, Rope ropeLong, int nCtxOrig) : base(config)
    {
        _ends = ends;
        _layers = layers;
        _ropeShort = ropeShort;
        _ropeLong = ropeLong;
        _nCtxOrig = nCtxOrig;
        _qScale = 1.0f / MathF.Sqrt(config.HeadDim);
    }

    /// <summary>
    /// Binds phi3's tensors (llama.cpp's llama_model_phi3::load_arch_tensors) and reads its keys: LongRoPE's original
    /// context and attention factor, and the sliding window, which llama.cpp 0.5.0 reads and switches off for phi3
    /// (load_arch_hparams: "Phi SWA is currently disabled"), so every layer attends to every earlier position here too.
    /// </summary>
    public static Architecture Bind(ModelConfig c, ArchitectureKeys keys, TensorBinder b)
    {
        _ = keys.GetInt32("attention.sliding_window", 0);
        int nCtxOrig = keys.GetInt32("rope.scaling.original_context_length", 0) is > 0 and int orig ? orig : c.NCtxTrain;
        float attnFactor = keys.GetSingle("rope.scaling.attn_factor", 1f);
        var layers = BindBlocks(c, b, p => new Layer
        {
            AttnNorm = b.Vector(p + "attn_norm.weight", c.NEmbd),
            Wqkv = b.Matrix(p + "attn_qkv.weight", c.NEmbd, c.QDim + 2 * c.KvDim),
            Wo = b.Matrix(p + "attn_output.weight", c.QDim, c.NEmbd),
            FfnNorm = b.Vector(p + "ffn_norm.weight", c.NEmbd),
            GateUp = b.Matrix(p + "ffn_up.weight", c.NEmbd, 2 * c.NFf),
            Down = b.Matrix(p + "ffn_down.weight", c.NFf, c.NEmbd),
        });
        var ends = Ends.Bind(c, b);
        Rope LongRope(string factors) =>
            new(c.NRot, c.RopeFreqBase, c.RopeFreqScale, b.OptionalVector(factors, c.NRot / 2), neox: true, attnFactor);
        return new Phi3(c, ends, layers, LongRope("rope_factors_short.weight"), LongRope("rope_factors_long.weight"), nCtxOrig);
    }

    /// <summary>
    /// The rope of sequences of <paramref name="nCtxSeq"/> positions, chosen as llama.cpp's
    /// llama_model::get_rope_factors does: the long factors when the context (padded as llama.cpp pads it) is longer
    /// than the original one, else the short ones.
    /// </summary>
    internal Rope RopeFor(int nCtxSeq) =>
        (nCtxSeq + ContextPadding - 1) / ContextPadding * ContextPadding > _nCtxOrig ? _ropeLong : _ropeShort;

    public override ReadOnlySpan<float> Forward(ForwardState s, UBatch batch)
    {
        int n = batch.Count, nEmbd = Config.NEmbd, qkvWidth = Config.QDim + 2 * Config.KvDim;
        float* x = s.X, xb = s.Xb, fused = s.Fused(Math.Max(qkvWidth, 2 * Config.NFf));
        var rope = RopeFor(s.Cache.Layout.NCtxSeq);

        s.Embed(_ends.TokenEmbedding, batch, x);                              // x = token_embd[tokens]
        for (int l = 0; l < Config.NLayer; l++)
        {
            var layer = _layers[l];
            s.Norm(x, xb, layer.AttnNorm, n);                                 // xb = rmsnorm(x) * attn_norm
            s.MatMul.Run(xb, n, new MatMulTarget(layer.Wqkv, fused));         // [q | k | v] = Wqkv xb
            s.SplitQkv(fused, n);                                             // q, k, v
            s.RotateAndStore(rope, l, batch);                                 // rope(q), rope(k); cache k, v
            s.Scale(s.Q, _qScale, n, Config.QDim);                            // q *= 1 / sqrt(headDim)
            s.Attention.Run(s.Pool, l, s.Q, batch, s.Att, _attention);        // att = softmax(q k^T) v
            s.MatMul.Run(s.Att, n, new MatMulTarget(layer.Wo, xb));           // xb = Wo att
            s.Add(x, xb, n * nEmbd);                                          // x += xb
            s.Norm(x, xb, layer.FfnNorm, n);                                  // xb = rmsnorm(x) * ffn_norm
            s.MatMul.Run(xb, n, new MatMulTarget(layer.GateUp, fused));       // [gate | up] = Wup xb
            s.SwiGluHalves(fused, n);                                         // hb = silu(gate) * up
            s.MatMul.Run(s.Hb, n, new MatMulTarget(layer.Down, xb));          // xb = Wdown hb
            s.Add(x, xb, n * nEmbd);                                          // x += xb
        }
        return _ends.Logits(s, batch);                                        // logits = Wout (rmsnorm(x) * output_norm)
    }

    public override IEnumerable<WeightMatrix> Matrices() =>
        _layers.SelectMany(l => new[] { l.Wqkv, l.Wo, l.GateUp, l.Down }).Append(_ends.Output);
}
