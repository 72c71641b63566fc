using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels;
using LlamaAot.Quants;
using LlamaAot.Threading;

namespace LlamaAot.Model.Ops;

/// <summary>
/// How one layer attends: the factor on q . k, a soft-cap (scores become cap * tanh(score / cap), Gemma 2's
/// attention logit soft-capping; 0 = none) and a sliding window (a token at p attends to positions p - window + 1
/// to p; 0 = every earlier position).
/// </summary>
internal readonly record struct AttentionOptions(float Scale, float SoftCap = 0, int Window = 0)
{
    /// <summary>llama's attention: scores scaled by 1 / sqrt(headDim), every earlier position.</summary>
    public static AttentionOptions Default(int headDim) => new(1.0f / MathF.Sqrt(headDim));
}

/// <summary>
/// Causal multi-head attention with grouped-query heads over the KV cache, each token over its own sequence's
/// positions (those of its window on a sliding-window layer). For each token and KV head, keys and values are read
/// tile by tile (16 positions), once for all the query heads that share them; scores for a tile come from the
/// dimension-major key tile with no horizontal sums. Work and memory stay linear in the context: nothing of size
/// n_ctx x n_ctx is built.
/// <para>Per query head: s_j = (q . k_j) * scale (then soft-capped) for every position j the token attends to;
/// out = sum_j softmax(s)_j v_j. With an F16 key cache q is rounded to half first, as llama.cpp does.</para>
/// <para>Two ways to take the softmax, as llama.cpp has (its -fa): by default the scores of a row are kept (n floats
/// per head), then exponentiated against their maximum, summed in double, normalized, and, with an F16 value
/// cache, rounded to half before they weigh the values: llama.cpp's rounding without flash attention, so logits
/// agree to float rounding. With <c>flashAttention</c>, an online softmax (a running maximum and sum rescale what was
/// accumulated) does it in one pass over the cache, the CPU form of flash attention.</para>
/// </summary>
internal sealed unsafe class Attention : IParallelWork, IDisposable
{
    private const int Tile = KvCache.Tile;

    /// <summary>tinyBLAS's lanes on an AVX2 build: the weighted values of position j are summed in lane j % 8.</summary>
    private const int Lanes = 8;

    private readonly ModelConfig _c;
    private readonly KvCache _cache;
    private readonly bool _flash;
    private readonly AlignedBuffer _scratch;
    private readonly long _scratchFloats;
    private int _layer;
    private UBatch _batch = null!;
    private AttentionOptions _options;
    private float _scale;
    private float* _q, _out;
    private ChunkPlan _plan; // over tasks: (token, KV head) pairs

    public Attention(ModelConfig config, KvCache cache, int threads, bool flashAttention)
    {
        _c = config;
        _cache = cache;
        _flash = flashAttention;
        int hd = config.HeadDim, g = config.GroupSize;
        // Per thread: key tile [hd][16], value tile [16][hd], q [G][hd], out [G][Lanes][hd] (flash: [G][hd]), m [G],
        // l [G], then weights: [G][16] for the online softmax, [G][n_ctx rounded to tiles] when the scores are kept.
        long weights = flashAttention ? (long)g * Tile : (long)g * RowStride(cache.NCtx);
        _scratchFloats = RoundUp(2L * Tile * hd + (1L + Lanes) * g * hd + 2L * g + weights);
        _scratch = new AlignedBuffer(_scratchFloats * threads * sizeof(float));
    }

    private static long RoundUp(long floats) => (floats + 15) / 16 * 16;

    /// <summary>Floats of a kept row of scores: a sequence's positions, rounded to whole tiles.</summary>
    private static int RowStride(int nCtx) => (nCtx + Tile - 1) / Tile * Tile;

    /// <summary>
    /// out[t, h*headDim ..] for every token t of the batch (at its position, in its sequence) and every head h; q is
    /// [tokens, nHead*headDim]; the cache already holds, for each token, its sequence's positions up to its own.
    /// </summary>
    public void Run(WorkerPool pool, int layer, float* q, UBatch batch, float* output, AttentionOptions options)
    {
        _layer = layer;
        _q = q;
        _batch = batch;
        _out = output;
        _options = options;
        _scale = options.Scale;
        // Multiply-adds: scores and weighted values over every attended position, for every query head.
        long attended = 0;
        for (int t = 0; t < batch.Count; t++)
            attended += batch.Positions[t] + 1 - FirstAttended(batch.Positions[t]);
        long cost = 2L * attended * _c.NHead * _c.HeadDim;
        _plan = pool.Plan(batch.Count * _c.NHeadKv, 1, cost);
        pool.Run(this, _plan.Count);
    }

    /// <summary>The first position a token at <paramref name="pos"/> attends to.</summary>
    private int FirstAttended(int pos) => _options.Window > 0 ? Math.Max(0, pos - _options.Window + 1) : 0;

    public void Execute(int thread, int chunk)
    {
        int hd = _c.HeadDim, group = _c.GroupSize, nKv = _c.NHeadKv, cells = _cache.Cells(_layer);
        float* scratch = _scratch.Floats + thread * _scratchFloats;
        float* keyTile = scratch, valueTile = keyTile + Tile * hd, q = valueTile + Tile * hd;
        float* o = q + group * hd, m = o + Lanes * group * hd, l = m + group, weights = l + group;
        int rowStride = _flash ? Tile : RowStride(_cache.NCtx);
        for (int task = _plan.Start(chunk); task < _plan.End(chunk); task++)
        {
            int t = task / nKv, kvHead = task % nKv;
            int pos = _batch.Positions[t], seq = _batch.Sequences[t], first = FirstAttended(pos);
            // Tiles cover positions [start, pos]; lanes of the first tile before `first` are masked out.
            int start = first / Tile * Tile, n = pos + 1 - start, skip = first - start;
            float* qt = _q + (long)t * _c.NHead * hd + kvHead * group * hd;
            if (_cache.KeyType == KvCacheType.F16)
                HalfVectors.RoundToHalf(qt, q, group * hd);
            else
                new ReadOnlySpan<float>(qt, group * hd).CopyTo(new Span<float>(q, group * hd));
            new Span<float>(o, Lanes * group * hd).Clear();
            for (int h = 0; h < group; h++)
            {
                m[h] = float.NegativeInfinity;
                l[h] = 0;
            }

            if (_flash)
            {
                for (int tile = 0; tile * Tile < n; tile++)
                {
                    int from = tile == 0 ? skip : 0, count = Math.Min(Tile, n - tile * Tile), cell = (start + tile * Tile) % cells;
                    float* k = Widen(_cache.KeyTile(_layer, seq, kvHead, cell / Tile), Tile * hd, _cache.KeyType, keyTile);
                    float* v = Widen(_cache.ValueRow(_layer, seq, kvHead, cell), count * hd, _cache.ValueType, valueTile);
                    for (int h = 0; h < group; h++)
                        Accumulate(q + h * hd, k, v, from, count, hd, o + h * hd, weights + h * Tile, ref m[h], ref l[h]);
                }
            }
            else
            {
                // Pass 1: every score of the row, tile by tile.
                for (int tile = 0; tile * Tile < n; tile++)
                {
                    int from = tile == 0 ? skip : 0, cell = (start + tile * Tile) % cells;
                    float* k = Widen(_cache.KeyTile(_layer, seq, kvHead, cell / Tile), Tile * hd, _cache.KeyType, keyTile);
                    Scores(q, group, k, hd, from, Math.Min(Tile, n - tile * Tile), weights + tile * Tile, rowStride);
                }
                // The softmax, rounded as llama.cpp rounds it (masked lanes are -infinity: they weigh exactly 0).
                for (int h = 0; h < group; h++)
                    Softmax(weights + h * rowStride, n, _cache.ValueType == KvCacheType.F16);
                // Pass 2: the weighted values, tile by tile.
                for (int tile = 0; tile * Tile < n; tile++)
                {
                    int from = tile == 0 ? skip : 0, count = Math.Min(Tile, n - tile * Tile), cell = (start + tile * Tile) % cells;
                    float* v = Widen(_cache.ValueRow(_layer, seq, kvHead, cell), count * hd, _cache.ValueType, valueTile);
                    if (_cache.ValueType == KvCacheType.F32)
                        AddWeighted(weights + tile * Tile, rowStride, group, v, from, count, hd, o);
                    else
                    {
                        for (int h = 0; h < group; h++)
                            AddWeighted(weights + h * rowStride + tile * Tile, v, from, count, hd, o + h * Lanes * hd, 1);
                    }
                }
                // tinyBLAS's hsum of each output's 8 lanes (the softmax is already normalized; with an F16 cache
                // lane 0 holds the whole sum and the others are zero).
                float* done = _out + (long)t * _c.NHead * hd + kvHead * group * hd;
                for (int h = 0; h < group; h++)
                {
                    float* lanes = o + h * Lanes * hd;
                    for (int d = 0; d < hd; d++)
                    {
                        float* v = lanes + d;
                        done[h * hd + d] = ((v[0] + v[4 * hd]) + (v[2 * hd] + v[6 * hd])) + ((v[hd] + v[5 * hd]) + (v[3 * hd] + v[7 * hd]));
                    }
                }
                continue;
            }

            float* output = _out + (long)t * _c.NHead * hd + kvHead * group * hd;
            for (int h = 0; h < group; h++)
            {
                float inverse = 1.0f / l[h];
                for (int d = 0; d < hd; d++)
                    output[h * hd + d] = o[h * hd + d] * inverse;
            }
        }
    }

    /// <summary>
    /// Scaled (and soft-capped) scores of one tile for <paramref name="heads"/> query heads (q is [heads][hd], scores
    /// of head h start at h * <paramref name="stride"/>); lanes outside [<paramref name="from"/>,
    /// <paramref name="count"/>) are -infinity.
    /// </summary>
    private void Scores(float* q, int heads, float* k, int hd, int from, int count, float* scores, int stride)
    {
        int h = 0;
        if (_cache.KeyType == KvCacheType.F16)
        {
            // Four heads at a time: each key row is loaded once for the four, and their eight sums (each lane's
            // products in order, as one head alone sums them) are independent chains of multiply-adds, where one
            // head's two would wait on each other's latency.
            for (; h + 4 <= heads; h += 4)
            {
                float* q0 = q + h * hd, q1 = q0 + hd, q2 = q1 + hd, q3 = q2 + hd;
                Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
                for (int d = 0; d < hd; d++)
                {
                    var k0 = Vector256.Load(k + d * Tile);
                    var k1 = Vector256.Load(k + d * Tile + 8);
                    var x = Vector256.Create(q0[d]);
                    a0 = Vector256.FusedMultiplyAdd(x, k0, a0);
                    b0 = Vector256.FusedMultiplyAdd(x, k1, b0);
                    x = Vector256.Create(q1[d]);
                    a1 = Vector256.FusedMultiplyAdd(x, k0, a1);
                    b1 = Vector256.FusedMultiplyAdd(x, k1, b1);
                    x = Vector256.Create(q2[d]);
                    a2 = Vector256.FusedMultiplyAdd(x, k0, a2);
                    b2 = Vector256.FusedMultiplyAdd(x, k1, b2);
                    x = Vector256.Create(q3[d]);
                    a3 = Vector256.FusedMultiplyAdd(x, k0, a3);
                    b3 = Vector256.FusedMultiplyAdd(x, k1, b3);
                }
                StoreScores(a0, b0, from, count, scores + h * stride);
                StoreScores(a1, b1, from, count, scores + (h + 1) * stride);
                StoreScores(a2, b2, from, count, scores + (h + 2) * stride);
                StoreScores(a3, b3, from, count, scores + (h + 3) * stride);
            }
        }
        for (; h < heads; h++)
            Scores(q + h * hd, k, hd, from, count, scores + h * stride);
    }

    /// <summary>
    /// Gemma 2's attention logit soft-cap, as ggml computes it: scores times the float reciprocal of the cap, tanh,
    /// times the cap. Without a cap the scores pass through.
    /// </summary>
    private Vector256<float> SoftCap(Vector256<float> scores)
    {
        float cap = _options.SoftCap;
        if (cap <= 0)
            return scores;
        float inverse = 1.0f / cap;
        Span<float> lanes = stackalloc float[Vector256<float>.Count];
        scores.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++)
            lanes[i] = MathF.Tanh(lanes[i] * inverse) * cap;
        return Vector256.Create<float>(lanes);
    }

    /// <summary>
    /// Scaled (and soft-capped) scores of one tile for one query head; lanes outside [from, count) are -infinity.
    /// With an F32 cache each q . k is summed in the order of the product llama.cpp's x86 (AVX2) build takes for it,
    /// lane by lane over the tile's 16 positions: ggml_vec_dot_f32 (q is a permuted view, so no tinyBLAS): 4 x 8 lanes
    /// over 32 dimensions at a time, reduced by GGML_F32x8_REDUCE, then any dimensions past the last 32 added one by
    /// one. With an F16 cache each lane sums its products in order: the stories260K references (an AVX-512 build,
    /// whose F16 products are other again) hold within their bounds that way, and not in the AVX2 build's order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Scores(float* q, float* k, int hd, int from, int count, float* scores)
    {
        bool f32 = _cache.KeyType == KvCacheType.F32;
        int chunk = f32 ? 32 : 1, whole = hd / chunk * chunk;
        // r[2c], r[2c + 1]: ggml lane c of positions 0..7 and 8..15; for F32, lane c = (L[c] + L[c+16]) + (L[c+8] + L[c+24]).
        var r = stackalloc Vector256<float>[2 * Lanes];
        for (int c = 0; c < (f32 ? Lanes : 1); c++)
        {
            var (a0, b0) = LaneSum(q, k, c, whole, chunk);
            if (f32)
            {
                var (a1, b1) = LaneSum(q, k, c + 8, whole, chunk);
                var (a2, b2) = LaneSum(q, k, c + 16, whole, chunk);
                var (a3, b3) = LaneSum(q, k, c + 24, whole, chunk);
                (a0, b0) = ((a0 + a2) + (a1 + a3), (b0 + b2) + (b1 + b3));
            }
            r[2 * c] = a0;
            r[2 * c + 1] = b0;
        }
        Vector256<float> s0, s1;
        if (f32)
        {
            // _mm_hadd_ps twice after adding the halves: (t0 + t1) + (t2 + t3), t_c = lane c + lane c + 4.
            s0 = ((r[0] + r[8]) + (r[2] + r[10])) + ((r[4] + r[12]) + (r[6] + r[14]));
            s1 = ((r[1] + r[9]) + (r[3] + r[11])) + ((r[5] + r[13]) + (r[7] + r[15]));
        }
        else
        {
            (s0, s1) = (r[0], r[1]);
        }
        for (int d = whole; d < hd; d++)
        {
            var qd = Vector256.Create(q[d]);
            s0 = Vector256.FusedMultiplyAdd(qd, Vector256.Load(k + d * Tile), s0);
            s1 = Vector256.FusedMultiplyAdd(qd, Vector256.Load(k + d * Tile + 8), s1);
        }
        StoreScores(s0, s1, from, count, scores);
    }

    /// <summary>The sums of a tile's 16 positions scaled (and soft-capped) into scores; lanes outside [from, count) -infinity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreScores(Vector256<float> s0, Vector256<float> s1, int from, int count, float* scores)
    {
        var scale = Vector256.Create(_scale);
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var limit = Vector256.Create(count);
        var lowest = Vector256.Create(from);
        var upper = lanes + Vector256.Create(8);
        var inf = Vector256.Create(float.NegativeInfinity);
        var valid0 = Vector256.LessThan(lanes, limit) & Vector256.GreaterThanOrEqual(lanes, lowest);
        var valid1 = Vector256.LessThan(upper, limit) & Vector256.GreaterThanOrEqual(upper, lowest);
        Vector256.ConditionalSelect(valid0.AsSingle(), SoftCap(s0 * scale), inf).Store(scores);
        Vector256.ConditionalSelect(valid1.AsSingle(), SoftCap(s1 * scale), inf).Store(scores + 8);
    }

    /// <summary>The fused sum of q[d] * k[d] over d = first, first + step, ... below end, for positions 0..7 and 8..15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>) LaneSum(float* q, float* k, int first, int end, int step)
    {
        var s0 = Vector256<float>.Zero;
        var s1 = Vector256<float>.Zero;
        for (int d = first; d < end; d += step)
        {
            var qd = Vector256.Create(q[d]);
            s0 = Vector256.FusedMultiplyAdd(qd, Vector256.Load(k + d * Tile), s0);
            s1 = Vector256.FusedMultiplyAdd(qd, Vector256.Load(k + d * Tile + 8), s1);
        }
        return (s0, s1);
    }

    /// <summary>
    /// ggml_compute_forward_soft_max_f32 on one row, as llama.cpp's AVX2 build rounds it: e^(s - max) by ggml's vector
    /// expf on groups of 8 (llama.cpp's row is the whole padded cache, so no value takes the scalar tail; here the
    /// lanes past <paramref name="n"/> up to the tile are -infinity and weigh exactly 0), each group summed in float
    /// (its halves added, then the pairs), the group sums in double; then every value times the float reciprocal of
    /// the sum, and rounded to half when the values are half (llama.cpp converts the weights to the values' type).
    /// </summary>
    private static void Softmax(float* s, int n, bool roundToHalf)
    {
        int padded = (n + 7) / 8 * 8;
        var maxes = Vector256.Create(float.NegativeInfinity);
        for (int i = 0; i < padded; i += 8)
            maxes = Vector256.Max(maxes, Vector256.Load(s + i));
        var shift = Vector256.Create(MaxOf(maxes));
        double sum = 0;
        for (int i = 0; i < padded; i += 8)
        {
            var e = GgmlExpF.Exp(Vector256.Load(s + i) - shift);
            e.Store(s + i);
            var half = e.GetUpper() + e.GetLower();
            sum += (half[0] + half[2]) + (half[1] + half[3]);
        }
        var inverse = Vector256.Create((float)(1.0 / sum));
        for (int i = 0; i < padded; i += 8)
            (Vector256.Load(s + i) * inverse).Store(s + i);
        if (roundToHalf)
            HalfVectors.RoundToHalf(s, s, n);
    }

    /// <summary>
    /// For <paramref name="heads"/> query heads (weights of head h start at h * <paramref name="stride"/>, outputs at
    /// o + h * Lanes * hd, one row of hd per lane): lane j % 8 of o += weight_j * v_j over the tile's positions
    /// [from, count), in order: tinyBLAS's lanes on an AVX2 build (the tile starts at a multiple of 8; masked positions
    /// weigh exactly 0 in llama.cpp, so skipping them adds the same). Masked positions are skipped, not weighed by 0:
    /// their cells may hold another position, or nothing yet.
    /// </summary>
    private static void AddWeighted(float* weights, int stride, int heads, float* v, int from, int count, int hd, float* o)
    {
        for (int h = 0; h < heads; h++)
        {
            float* w = weights + h * stride;
            for (int lane = 0; lane < Lanes; lane++)
            {
                int first = from + (lane - from % Lanes + Lanes) % Lanes;
                float* acc = o + (h * Lanes + lane) * hd;
                int d = 0;
                for (; d + 8 <= hd; d += 8)
                {
                    var a = Vector256.Load(acc + d);
                    for (int j = first; j < count; j += Lanes)
                        a = Vector256.FusedMultiplyAdd(Vector256.Create(w[j]), Vector256.Load(v + j * hd + d), a);
                    a.Store(acc + d);
                }
                for (; d < hd; d++)
                {
                    for (int j = first; j < count; j += Lanes)
                        acc[d] = MathF.FusedMultiplyAdd(w[j], v[j * hd + d], acc[d]);
                }
            }
        }
    }

    /// <summary>
    /// o = o * factor + sum over the tile's positions [from, count) of weight_j * v_j, each dimension's products added
    /// in position order. Dimensions go 64 at a time: eight independent chains of multiply-adds (one 8-wide chain
    /// alone waits on each multiply-add's latency), each weight broadcast once for them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddWeighted(float* weights, float* v, int from, int count, int hd, float* o, float factor)
    {
        if (hd % 8 == 0)
        {
            var f = Vector256.Create(factor);
            int d = 0;
            for (; d + 64 <= hd; d += 64)
            {
                float* od = o + d;
                var a0 = Vector256.Load(od) * f;
                var a1 = Vector256.Load(od + 8) * f;
                var a2 = Vector256.Load(od + 16) * f;
                var a3 = Vector256.Load(od + 24) * f;
                var a4 = Vector256.Load(od + 32) * f;
                var a5 = Vector256.Load(od + 40) * f;
                var a6 = Vector256.Load(od + 48) * f;
                var a7 = Vector256.Load(od + 56) * f;
                for (int j = from; j < count; j++)
                {
                    var wj = Vector256.Create(weights[j]);
                    float* vj = v + j * hd + d;
                    a0 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj), a0);
                    a1 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 24), a3);
                    a4 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 32), a4);
                    a5 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 40), a5);
                    a6 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 48), a6);
                    a7 = Vector256.FusedMultiplyAdd(wj, Vector256.Load(vj + 56), a7);
                }
                a0.Store(od);
                a1.Store(od + 8);
                a2.Store(od + 16);
                a3.Store(od + 24);
                a4.Store(od + 32);
                a5.Store(od + 40);
                a6.Store(od + 48);
                a7.Store(od + 56);
            }
            for (; d < hd; d += 8)
            {
                var acc = Vector256.Load(o + d) * f;
                for (int j = from; j < count; j++)
                    acc = Vector256.FusedMultiplyAdd(Vector256.Create(weights[j]), Vector256.Load(v + j * hd + d), acc);
                acc.Store(o + d);
            }
            return;
        }
        for (int d = 0; d < hd; d++)
        {
            float acc = o[d] * factor;
            for (int j = from; j < count; j++)
                acc += weights[j] * v[j * hd + d];
            o[d] = acc;
        }
    }

    /// <summary>
    /// Flash attention, one tile for one query head: scores, the online softmax update (what was accumulated is
    /// rescaled when the maximum grows), then the weighted values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Accumulate(float* q, float* k, float* v, int from, int count, int hd, float* o, float* e, ref float m, ref float l)
    {
        Scores(q, k, hd, from, count, e);
        var s0 = Vector256.Load(e);
        var s1 = Vector256.Load(e + 8);
        float newMax = MathF.Max(m, MaxOf(Vector256.Max(s0, s1)));
        float factor = MathF.Exp(m - newMax);
        var shift = Vector256.Create(newMax);
        var e0 = ExpF.Exp(s0 - shift);
        var e1 = ExpF.Exp(s1 - shift);
        e0.Store(e);
        e1.Store(e + 8);
        l = l * factor + Vector256.Sum(e0 + e1);
        m = newMax;
        AddWeighted(e, v, from, count, hd, o, factor);
    }

    private static float MaxOf(Vector256<float> v)
    {
        var half = Vector128.Max(v.GetLower(), v.GetUpper());
        float max = half[0];
        for (int i = 1; i < 4; i++)
            max = MathF.Max(max, half[i]);
        return max;
    }

    /// <summary>The cache elements as floats: F32 in place, F16 widened into <paramref name="buffer"/>.</summary>
    private static float* Widen(byte* source, int count, KvCacheType type, float* buffer)
    {
        if (type == KvCacheType.F32)
            return (float*)source;
        var halves = (ushort*)source;
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // 16 at a time in fewer instructions (HalfVectors.LoadAsSingle): 1.7% -> 0.9% of a Q8_0 TinyLlama prompt's time (one thread).
            for (; i + 16 <= count; i += 16)
                HalfVectors.LoadAsSingle(halves + i).Store(buffer + i);
        }
        for (; i + 8 <= count; i += 8)
        {
            var h = Vector128.Load(halves + i);
            HalfVectors.ToSingle(Vector256.Create(Vector128.WidenLower(h), Vector128.WidenUpper(h))).Store(buffer + i);
        }
        for (; i < count; i++)
            buffer[i] = Fp16.HalfBitsToSingle(halves[i]);
        return buffer;
    }

    public void Dispose() => _scratch.Dispose();
}
