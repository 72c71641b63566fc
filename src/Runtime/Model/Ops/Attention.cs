using LlamaAot.Quants;
using LlamaAot.Threading;

namespace LlamaAot.Model.Ops;

/// <summary>
/// Causal multi-head attention with grouped-query heads over the KV cache, one (token, head) pair per task:
/// scores = q . k_j * scale for every cached position j up to the token's own, softmax, out = sum_j p_j v_j.
/// Rounded where llama.cpp rounds without flash attention: with an F16 key cache q is rounded to half before
/// q . k; with an F16 value cache the probabilities are rounded to half before they weigh v. The softmax sums
/// in double (ggml_compute_forward_soft_max_f32).
/// </summary>
internal sealed unsafe class Attention : IParallelWork, IDisposable
{
    private readonly LlamaConfig _c;
    private readonly KvCache _cache;
    private readonly float _scale;
    private readonly AlignedBuffer _scratch; // per thread: scores [nCtx] + rounded q [headDim]
    private readonly int _scratchFloats;
    private int _layer, _tokens, _pos;
    private float* _q, _out;

    public Attention(LlamaConfig config, KvCache cache, int threads)
    {
        _c = config;
        _cache = cache;
        _scale = 1.0f / MathF.Sqrt(config.HeadDim);
        _scratchFloats = cache.NCtx + config.HeadDim + 16;
        _scratch = new AlignedBuffer((long)_scratchFloats * threads * sizeof(float));
    }

    /// <summary>
    /// out[t, h*headDim ..] for every token t of the batch at positions pos + t and every head h; q is [tokens,
    /// nHead*headDim]; the cache already holds positions up to pos + tokens - 1 of this layer.
    /// </summary>
    public void Run(WorkerPool pool, int layer, float* q, int tokens, int pos, float* output)
    {
        _layer = layer;
        _q = q;
        _tokens = tokens;
        _pos = pos;
        _out = output;
        pool.Run(this);
    }

    public void Execute(int thread, int threads)
    {
        int nHead = _c.NHead, hd = _c.HeadDim;
        var (start, end) = WorkerPool.Split(_tokens * nHead, thread, threads);
        float* scores = _scratch.Floats + (long)thread * _scratchFloats;
        float* qh = scores + _cache.NCtx;
        for (int task = start; task < end; task++)
        {
            int t = task / nHead, h = task % nHead;
            int kvHead = h / _c.GroupSize;
            int n = _pos + t + 1; // positions this token attends to
            float* q = _q + (long)t * nHead * hd + h * hd;
            for (int d = 0; d < hd; d++)
                qh[d] = _cache.KeyType == KvCacheType.F16 ? (float)Fp16.ToHalf(q[d]) : q[d];

            // scores[j] = (q . k_j) * scale, and their maximum
            float max = float.NegativeInfinity;
            for (int j = 0; j < n; j++)
            {
                float s = Dot(qh, _cache.Key(_layer, j) + kvHead * hd * KvCache.SizeOf(_cache.KeyType), hd, _cache.KeyType) * _scale;
                scores[j] = s;
                max = MathF.Max(max, s);
            }

            // softmax: exp(s - max) summed in double, then scaled by the float reciprocal of the sum
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                float e = MathF.Exp(scores[j] - max);
                scores[j] = e;
                sum += e;
            }
            float inv = (float)(1.0 / sum);
            for (int j = 0; j < n; j++)
            {
                float p = scores[j] * inv;
                scores[j] = _cache.ValueType == KvCacheType.F16 ? (float)Fp16.ToHalf(p) : p;
            }

            // out = sum_j p_j * v_j
            float* o = _out + (long)t * nHead * hd + h * hd;
            new Span<float>(o, hd).Clear();
            for (int j = 0; j < n; j++)
                Axpy(scores[j], _cache.Value(_layer, j) + kvHead * hd * KvCache.SizeOf(_cache.ValueType), o, hd, _cache.ValueType);
        }
    }

    private static float Dot(float* q, byte* k, int n, KvCacheType type)
    {
        float sum = 0;
        if (type == KvCacheType.F32)
        {
            var kf = (float*)k;
            for (int d = 0; d < n; d++)
                sum += q[d] * kf[d];
        }
        else
        {
            var kh = (ushort*)k;
            for (int d = 0; d < n; d++)
                sum += q[d] * Fp16.HalfBitsToSingle(kh[d]);
        }
        return sum;
    }

    private static void Axpy(float a, byte* v, float* y, int n, KvCacheType type)
    {
        if (type == KvCacheType.F32)
        {
            var vf = (float*)v;
            for (int d = 0; d < n; d++)
                y[d] += a * vf[d];
        }
        else
        {
            var vh = (ushort*)v;
            for (int d = 0; d < n; d++)
                y[d] += a * Fp16.HalfBitsToSingle(vh[d]);
        }
    }

    public void Dispose() => _scratch.Dispose();
}
