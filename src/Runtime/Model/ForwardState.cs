using LlamaAot.Model.Ops;
using LlamaAot.Threading;

namespace LlamaAot.Model;

/// <summary>
/// What every architecture's forward pass shares: the KV cache, the scratch buffers (sized once for
/// <see cref="MaxBatch"/> tokens), the matrix products, attention and the thread pool, and the element-wise steps
/// over a batch. An architecture's <c>Forward</c> (in Architectures/) strings these together in its own order.
/// </summary>
internal sealed unsafe class ForwardState : IDisposable
{
    private readonly ModelConfig _c;
    private readonly WorkerPool _pool;
    private readonly AlignedBuffer _x, _xb, _q, _k, _v, _att, _hb, _hb2, _logits;

    public ForwardState(ModelConfig config, KvCache cache, WorkerPool pool, int maxBatch, bool flashAttention)
    {
        Batch = new UBatch(maxBatch);
        _c = config;
        Cache = cache;
        _pool = pool;
        MaxBatch = maxBatch;
        MatMul = new MatMul(pool);
        Attention = new Attention(config, cache, pool.Threads, flashAttention);
        AlignedBuffer Floats(long n) => new(n * maxBatch * sizeof(float));
        _x = Floats(config.NEmbd);
        _xb = Floats(Math.Max(config.NEmbd, config.QDim));
        _q = Floats(config.QDim);
        _k = Floats(config.KvDim);
        _v = Floats(config.KvDim);
        _att = Floats(config.QDim);
        _hb = Floats(config.NFf);
        _hb2 = Floats(config.NFf);
        _logits = Floats(config.NVocab);
    }

    public KvCache Cache { get; }
    public MatMul MatMul { get; }
    public Attention Attention { get; }
    public WorkerPool Pool => _pool;

    /// <summary>The most tokens one forward pass takes.</summary>
    public int MaxBatch { get; }

    /// <summary>The tokens of the next forward pass (filled by the context).</summary>
    public UBatch Batch { get; }

    /// <summary>The residual stream [n, nEmbd].</summary>
    public float* X => _x.Floats;

    /// <summary>A normed or projected row per token: [n, max(nEmbd, qDim)].</summary>
    public float* Xb => _xb.Floats;

    /// <summary>Queries [n, qDim], keys and values [n, kvDim], attention output [n, qDim].</summary>
    public float* Q => _q.Floats;
    public float* K => _k.Floats;
    public float* V => _v.Floats;
    public float* Att => _att.Floats;

    /// <summary>Feed-forward gate and up rows [n, nFf].</summary>
    public float* Hb => _hb.Floats;
    public float* Hb2 => _hb2.Floats;

    /// <summary>Logits [n, nVocab].</summary>
    public float* Logits => _logits.Floats;

    /// <summary>x[t] = table[token t] for every token of the batch.</summary>
    public void Embed(WeightMatrix table, UBatch batch, float* x)
    {
        for (int t = 0; t < batch.Count; t++)
        {
            int id = batch.Tokens[t];
            if ((uint)id >= (uint)_c.NVocab)
                throw new ArgumentOutOfRangeException(nameof(batch), $"token id {id} is outside the vocabulary (0..{_c.NVocab - 1})");
            table.Format.Dequantize(new ReadOnlySpan<byte>(table.Data + id * table.RowBytes, (int)table.RowBytes), new Span<float>(x + (long)t * _c.NEmbd, _c.NEmbd));
        }
    }

    /// <summary>
    /// Moves the rows [nEmbd] of x of the tokens whose logits are wanted to the front, in batch order; returns how
    /// many there are. x is not needed after the last block, so the rows move in place.
    /// </summary>
    public int KeepLogitRows(float* x, UBatch batch)
    {
        int rows = 0;
        for (int t = 0; t < batch.Count; t++)
        {
            if (!batch.WantsLogits[t])
                continue;
            if (rows != t)
                new ReadOnlySpan<float>(x + (long)t * _c.NEmbd, _c.NEmbd).CopyTo(new Span<float>(x + (long)rows * _c.NEmbd, _c.NEmbd));
            rows++;
        }
        return rows;
    }

    // The element-wise steps below split a batch's tokens over the threads; each token is computed the same way
    // whatever the split.

    /// <summary>y[t] = rmsnorm(x[t]) * weight for <paramref name="rows"/> rows of nEmbd.</summary>
    public void Norm(float* x, float* y, float[] weight, int rows)
    {
        _pool.For(rows, _c.NEmbd, (start, end) =>
        {
            for (int t = start; t < end; t++)
                RmsNorm.Apply(x + (long)t * _c.NEmbd, y + (long)t * _c.NEmbd, weight, _c.NEmbd, _c.RmsEps);
        });
    }

    /// <summary>
    /// Per-head RMSNorm in place (Qwen 3's and Gemma 3's q and k norms): each of the <paramref name="heads"/> heads
    /// of every token's row, headDim values, normed and multiplied by <paramref name="weight"/> [headDim].
    /// </summary>
    public void NormHeads(float* x, float[] weight, int heads, int n)
    {
        int hd = _c.HeadDim;
        _pool.For(n, heads * hd, (start, end) =>
        {
            for (long h = (long)start * heads; h < (long)end * heads; h++)
                RmsNorm.Apply(x + h * hd, x + h * hd, weight, hd, _c.RmsEps);
        });
    }

    /// <summary>
    /// Rotates q and k of every token of the batch by its position, then stores its k and v in the cache, in its
    /// sequence.
    /// </summary>
    public void RotateAndStore(Rope rope, int layer, UBatch batch)
    {
        _pool.For(batch.Count, _c.QDim + _c.KvDim, (start, end) =>
        {
            Span<float> cos = stackalloc float[_c.NRot / 2], sin = stackalloc float[_c.NRot / 2];
            for (int t = start; t < end; t++)
            {
                rope.Angles(batch.Positions[t], cos, sin);
                float* q = _q.Floats + (long)t * _c.QDim, k = _k.Floats + (long)t * _c.KvDim;
                rope.Apply(q, _c.NHead, _c.HeadDim, cos, sin);
                rope.Apply(k, _c.NHeadKv, _c.HeadDim, cos, sin);
                Cache.Store(layer, batch.Sequences[t], batch.Positions[t], k, _v.Floats + (long)t * _c.KvDim);
            }
        });
    }

    /// <summary>hb = silu(hb) * hb2 for every token.</summary>
    public void SwiGluRows(int n)
    {
        int nFf = _c.NFf;
        _pool.For(n, nFf, (start, end) =>
        {
            for (int t = start; t < end; t++)
                SwiGlu.Row(_hb.Floats + (long)t * nFf, _hb2.Floats + (long)t * nFf, nFf);
        });
    }

    /// <summary>x += y over <paramref name="n"/> floats (whole rows of nEmbd).</summary>
    public void Add(float* x, float* y, int n)
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
        MatMul.Dispose();
        Attention.Dispose();
        foreach (var b in new[] { _x, _xb, _q, _k, _v, _att, _hb, _hb2, _logits })
            b.Dispose();
    }

    /// <summary>
    /// The logits of the tokens that want them, [rows, nVocab] in <see cref="Logits"/>: their rows of x (moved to the
    /// front, <see cref="KeepLogitRows"/>) normed by rmsnorm * <paramref name="outputNorm"/> and multiplied by
    /// <paramref name="output"/>. Returns the rows.
    /// </summary>
    public int Output(float* x, UBatch batch, float[] outputNorm, WeightMatrix output)
    {
        int rows = KeepLogitRows(x, batch);
        if (rows > 0)
        {
            Norm(x, Xb, outputNorm, rows);
            MatMul.Run(Xb, rows, new MatMulTarget(output, Logits));
        }
        return rows;
    }

    /// <summary>hb = gelu(hb) * hb2 for every token (Gemma's GeGLU, as ggml computes it).</summary>
    public void GeGluRows(int n)
    {
        int nFf = _c.NFf;
        _pool.For(n, nFf, (start, end) =>
        {
            for (int t = start; t < end; t++)
                GeGlu.Row(_hb.Floats + (long)t * nFf, _hb2.Floats + (long)t * nFf, nFf);
        });
    }

    /// <summary>x *= factor over <paramref name="rows"/> rows of <paramref name="width"/> floats (ggml_scale).</summary>
    public void Scale(float* x, float factor, int rows, int width)
    {
        _pool.For(rows, width, (start, end) =>
        {
            for (long i = (long)start * width; i < (long)end * width; i++)
                x[i] *= factor;
        });
    }

    /// <summary>
    /// x = cap * tanh(x / cap) over <paramref name="rows"/> rows of <paramref name="width"/> floats (Gemma 2's final
    /// logit soft-cap), rounded as ggml computes it: x times the float reciprocal of the cap, tanh, times the cap.
    /// </summary>
    public void SoftCap(float* x, float cap, int rows, int width)
    {
        float inverse = 1.0f / cap;
        _pool.For(rows, width, (start, end) =>
        {
            for (long i = (long)start * width; i < (long)end * width; i++)
                x[i] = MathF.Tanh(x[i] * inverse) * cap;
        });
    }
}
