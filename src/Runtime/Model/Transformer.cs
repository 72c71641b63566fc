using LlamaAot.Model.Ops;
using LlamaAot.Threading;

namespace LlamaAot.Model;

/// <summary>
/// The llama forward pass over a batch of tokens (the prompt at once, then one token at a time) with its KV cache
/// and scratch buffers. Buffers are sized once for <see cref="MaxBatch"/> tokens.
/// </summary>
internal sealed unsafe class Transformer : IDisposable
{
    private readonly LlamaConfig _c;
    private readonly LlamaWeights _w;
    private readonly WorkerPool _pool;
    private readonly MatMul _matMul;
    private readonly Attention _attention;
    private readonly Rope _rope;
    private readonly AlignedBuffer _x, _xb, _q, _k, _v, _att, _hb, _hb2, _logits;

    public Transformer(LlamaConfig config, LlamaWeights weights, KvCache cache, WorkerPool pool, int maxBatch, bool flashAttention)
    {
        _c = config;
        _w = weights;
        Cache = cache;
        _pool = pool;
        MaxBatch = maxBatch;
        _matMul = new MatMul(pool);
        _attention = new Attention(config, cache, pool.Threads, flashAttention);
        _rope = new Rope(config.NRot, config.RopeFreqBase, config.RopeFreqScale);
        int qDim = config.NHead * config.HeadDim;
        AlignedBuffer Floats(long n) => new(n * maxBatch * sizeof(float));
        _x = Floats(config.NEmbd);
        _xb = Floats(Math.Max(config.NEmbd, qDim));
        _q = Floats(qDim);
        _k = Floats(config.KvDim);
        _v = Floats(config.KvDim);
        _att = Floats(qDim);
        _hb = Floats(config.NFf);
        _hb2 = Floats(config.NFf);
        _logits = Floats(config.NVocab);
    }

    public KvCache Cache { get; }

    /// <summary>The most tokens one <see cref="Forward"/> call takes.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// Runs <paramref name="tokens"/> at positions [pos, pos + n) and returns their logits: [n, nVocab] when
    /// <paramref name="allLogits"/>, else the last token's [nVocab]. Valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<int> tokens, int pos, bool allLogits)
    {
        int n = tokens.Length;
        if (n < 1 || n > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"a batch holds 1 to {MaxBatch} tokens, not {n}");
        if (pos + n > Cache.NCtx)
            throw new InvalidOperationException($"the context is full: {pos} + {n} tokens exceed its {Cache.NCtx} positions");
        int nEmbd = _c.NEmbd;
        float* x = _x.Floats, xb = _xb.Floats;

        Embed(tokens, x);                                                     // x = token_embd[tokens]
        for (int l = 0; l < _c.NLayer; l++)
        {
            var layer = _w.Layers[l];
            Norm(x, xb, layer.AttnNorm, n);                                   // xb = rmsnorm(x) * attn_norm
            _matMul.Run(xb, n, [new(layer.Wq, _q.Floats), new(layer.Wk, _k.Floats), new(layer.Wv, _v.Floats)]); // q, k, v = W xb
            RotateAndStore(l, pos, n);                                        // rope(q), rope(k); cache k, v
            _attention.Run(_pool, l, _q.Floats, n, pos, _att.Floats);         // att = softmax(q k^T * scale) v
            _matMul.Run(_att.Floats, n, new MatMulTarget(layer.Wo, xb));      // xb = Wo att
            Add(x, xb, n * nEmbd);                                            // x += xb
            Norm(x, xb, layer.FfnNorm, n);                                    // xb = rmsnorm(x) * ffn_norm
            _matMul.Run(xb, n, [new(layer.Gate, _hb.Floats), new(layer.Up, _hb2.Floats)]); // hb = W1 xb, hb2 = W3 xb
            SwiGluRows(n);                                                    // hb = silu(hb) * hb2
            _matMul.Run(_hb.Floats, n, new MatMulTarget(layer.Down, xb));     // xb = W2 hb
            Add(x, xb, n * nEmbd);                                            // x += xb
        }
        int first = allLogits ? 0 : n - 1, rows = n - first;
        Norm(x + (long)first * nEmbd, xb, _w.OutputNorm, rows);              // xb = rmsnorm(x) * output_norm
        _matMul.Run(xb, rows, new MatMulTarget(_w.Output, _logits.Floats));  // logits = Wout xb
        return new ReadOnlySpan<float>(_logits.Floats, rows * _c.NVocab);
    }

    private void Embed(ReadOnlySpan<int> tokens, float* x)
    {
        var e = _w.TokenEmbedding;
        for (int t = 0; t < tokens.Length; t++)
        {
            int id = tokens[t];
            if ((uint)id >= (uint)_c.NVocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {id} is outside the vocabulary (0..{_c.NVocab - 1})");
            e.Format.Dequantize(new ReadOnlySpan<byte>(e.Data + id * e.RowBytes, (int)e.RowBytes), new Span<float>(x + (long)t * _c.NEmbd, _c.NEmbd));
        }
    }

    // The element-wise steps below cut a batch's tokens into chunks for the threads (given each token's operations,
    // so that small batches stay on the caller); each token is computed the same way whoever takes it.

    private void Norm(float* x, float* y, float[] weight, int rows)
    {
        _pool.For(rows, _c.NEmbd, (start, end) =>
        {
            for (int t = start; t < end; t++)
                RmsNorm.Apply(x + (long)t * _c.NEmbd, y + (long)t * _c.NEmbd, weight, _c.NEmbd, _c.RmsEps);
        });
    }

    private void RotateAndStore(int layer, int pos, int n)
    {
        int qDim = _c.NHead * _c.HeadDim;
        _pool.For(n, qDim + _c.KvDim, (start, end) =>
        {
            Span<float> cos = stackalloc float[_c.NRot / 2], sin = stackalloc float[_c.NRot / 2];
            for (int t = start; t < end; t++)
            {
                _rope.Angles(pos + t, cos, sin);
                float* q = _q.Floats + (long)t * qDim, k = _k.Floats + (long)t * _c.KvDim;
                _rope.Apply(q, _c.NHead, _c.HeadDim, cos, sin);
                _rope.Apply(k, _c.NHeadKv, _c.HeadDim, cos, sin);
                Cache.Store(layer, pos + t, k, _v.Floats + (long)t * _c.KvDim);
            }
        });
    }

    private void SwiGluRows(int n)
    {
        int nFf = _c.NFf;
        _pool.For(n, nFf, (start, end) =>
        {
            for (int t = start; t < end; t++)
                SwiGlu.Row(_hb.Floats + (long)t * nFf, _hb2.Floats + (long)t * nFf, nFf);
        });
    }

    private void Add(float* x, float* y, int n)
    {
        int nEmbd = _c.NEmbd;
        _pool.For(n / nEmbd, nEmbd, (start, end) =>
        {
            for (long i = (long)start * nEmbd; i < (long)end * nEmbd; i++)
                x[i] += y[i];
        });
    }

    public void Dispose()
    {
        _matMul.Dispose();
        _attention.Dispose();
        foreach (var b in new[] { _x, _xb, _q, _k, _v, _att, _hb, _hb2, _logits })
            b.Dispose();
    }
}
