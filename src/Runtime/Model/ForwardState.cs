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
    private AlignedBuffer? _fused; // [maxBatch, widest fused row asked for]

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
    /// Rotates q and k of every token of the batch by its position (unless <paramref name="rope"/> is null: a layer
    /// without rotary embedding), then stores its k and v in the cache, in its sequence.
    /// </summary>
    public void RotateAndStore(Rope? rope, int layer, UBatch batch)
    {
        _pool.For(batch.Count, _c.QDim + _c.KvDim, (start, end) =>
        {
            Span<float> cos = stackalloc float[_c.NRot / 2], sin = stackalloc float[_c.NRot / 2];
            for (int t = start; t < end; t++)
            {
                float* q = _q.Floats + (long)t * _c.QDim, k = _k.Floats + (long)t * _c.KvDim;
                if (rope is not null)
                {
                    rope.Angles(batch.Positions[t], cos, sin);
                    rope.Apply(q, _c.NHead, _c.HeadDim, cos, sin);
                    rope.Apply(k, _c.NHeadKv, _c.HeadDim, cos, sin);
                }
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
        _fused?.Dispose();
    }

    // Fused products (Phi-3's attn_qkv and ffn_up): one product into a scratch row per token, split afterwards.

    /// <summary>
    /// Scratch rows of <paramref name="width"/> floats per token for a fused product's output, allocated by the first
    /// forward pass that asks (families without fused tensors pay nothing); ask once per pass for the widest.
    /// </summary>
    public float* Fused(int width)
    {
        long bytes = (long)width * MaxBatch * sizeof(float);
        if (_fused is null || _fused.Bytes < bytes)
        {
            _fused?.Dispose();
            _fused = new AlignedBuffer(bytes);
        }
        return _fused.Floats;
    }

    /// <summary>q, k and v of every token from a fused product's row [q | k | v] (qDim + 2 kvDim floats).</summary>
    public void SplitQkv(float* qkv, int n)
    {
        int qDim = _c.QDim, kvDim = _c.KvDim, width = qDim + 2 * kvDim;
        _pool.For(n, width, (start, end) =>
        {
            for (long t = start; t < end; t++)
            {
                float* row = qkv + t * width;
                new ReadOnlySpan<float>(row, qDim).CopyTo(new Span<float>(_q.Floats + t * qDim, qDim));
                new ReadOnlySpan<float>(row + qDim, kvDim).CopyTo(new Span<float>(_k.Floats + t * kvDim, kvDim));
                new ReadOnlySpan<float>(row + qDim + kvDim, kvDim).CopyTo(new Span<float>(_v.Floats + t * kvDim, kvDim));
            }
        });
    }

    /// <summary>hb = silu(gate) * up for every token, from a fused product's row [gate | up] (2 nFf floats).</summary>
    public void SwiGluHalves(float* gateUp, int n)
    {
        int nFf = _c.NFf;
        _pool.For(n, 2 * nFf, (start, end) =>
        {
            for (long t = start; t < end; t++)
                SwiGlu.Row(gateUp + t * 2 * nFf, gateUp + t * 2 * nFf + nFf, _hb.Floats + t * nFf, nFf);
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
    /// x[t] += bias for each of <paramref name="rows"/> rows of bias.Length floats (a product's bias, ggml_add after
    /// the product in float); nothing when the bias is null (an optional bias the file does not have).
    /// </summary>
    public void AddBias(float* x, float[]? bias, int rows)
    {
        if (bias is null)
            return;
        int width = bias.Length;
        _pool.For(rows, width, (start, end) =>
        {
            for (long t = start; t < end; t++)
            {
                float* row = x + t * width;
                for (int i = 0; i < width; i++)
                    row[i] += bias[i];
            }
        });
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
