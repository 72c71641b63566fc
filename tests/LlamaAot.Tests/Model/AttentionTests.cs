using System.Runtime.Intrinsics;
using LlamaAot.Kernels;
using LlamaAot.Model;
using LlamaAot.Model.Ops;
using LlamaAot.Threading;

namespace LlamaAot.Tests.Model;

/// <summary>
/// The attention kernel (both softmax modes) against a plain double-precision attention written here, over many
/// tiles of positions, grouped-query heads, head sizes that are and are not multiples of the vector width, sliding
/// windows (in a cache that keeps every position, and in a ring that keeps only what the window reads), soft-capped
/// scores, and batches whose tokens belong to two sequences.
/// </summary>
public unsafe class AttentionTests
{
    [Theory]
    [InlineData(64, 8, 2, 100, 3, false, 0, 0, false)]   // GQA 4:1, 7 tiles, a batch of 3 tokens
    [InlineData(64, 8, 2, 100, 3, true, 0, 0, false)]
    [InlineData(8, 8, 4, 37, 1, false, 0, 0, false)]     // stories260K's head size
    [InlineData(8, 8, 4, 37, 1, true, 0, 0, false)]
    [InlineData(12, 4, 4, 33, 2, false, 0, 0, false)]    // a head size that is not a multiple of 8: the scalar path
    [InlineData(12, 4, 4, 33, 2, true, 0, 0, false)]
    [InlineData(128, 4, 1, 16, 4, true, 0, 0, false)]    // exactly one tile, multi-query
    [InlineData(256, 8, 1, 40, 3, false, 0, 0, false)]   // head size 256
    [InlineData(64, 4, 2, 100, 3, false, 8, 0, false)]   // a sliding window of 8 (Gemma's test models)
    [InlineData(64, 4, 2, 100, 3, true, 8, 0, false)]
    [InlineData(64, 4, 2, 100, 5, false, 20, 0, true)]   // the window in a ring of 32 cells that has wrapped
    [InlineData(64, 4, 2, 100, 5, true, 20, 0, true)]
    [InlineData(64, 4, 4, 50, 2, false, 0, 1.5f, false)] // Gemma 2's soft-cap, low enough to bite
    [InlineData(64, 4, 4, 50, 2, true, 0, 1.5f, false)]
    public void MatchesPlainAttention(int headDim, int nHead, int nHeadKv, int positions, int tokens, bool flash, int window, float softCap, bool ring)
    {
        var config = new ModelConfig
        {
            Architecture = "llama", NVocab = 8, NEmbd = nHead * headDim, NLayer = 1, NHead = nHead, NHeadKv = nHeadKv, NFf = 8, HeadDim = headDim,
            NCtxTrain = 256, NRot = headDim, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-5f,
            SlidingWindow = window, SlidingLayers = [ring],
        };
        int kvDim = nHeadKv * headDim, qDim = nHead * headDim;
        var random = new Random(positions * 31 + headDim + window);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        // Two sequences of `positions` positions each; the batch's tokens are the last positions of both, interleaved.
        float[][] keys = [Random(positions * kvDim), Random(positions * kvDim)], values = [Random(positions * kvDim), Random(positions * kvDim)];
        float[] queries = Random(2 * tokens * qDim);
        var layout = KvCacheLayout.For(config, nSeq: 2, nCtxSeq: 256, maxBatch: tokens, KvCacheType.F32, KvCacheType.F32);
        Assert.Equal(ring ? 32 : 256, layout.Cells[0]);
        using var cache = new KvCache(layout);
        for (int seq = 0; seq < 2; seq++)
        {
            fixed (float* k = keys[seq], v = values[seq])
            {
                for (int p = 0; p < positions; p++)
                    cache.Store(0, seq, p, k + p * kvDim, v + p * kvDim);
            }
        }
        var batch = new LlamaBatch();
        int first = positions - tokens;
        for (int t = 0; t < tokens; t++)
        {
            batch.Add(0, first + t, sequence: 1);
            batch.Add(0, first + t, sequence: 0);
        }
        var ubatch = new UBatch(2 * tokens);
        ubatch.Fill(batch, 0, batch.Count);
        using var pool = new WorkerPool(2);
        using var attention = new Attention(config, cache, pool.Threads, flash);
        var output = new float[2 * tokens * qDim];
        fixed (float* q = queries, o = output)
            attention.Run(pool, 0, q, ubatch, o, new AttentionOptions(1.0f / MathF.Sqrt(headDim), softCap, window));

        for (int i = 0; i < batch.Count; i++)
        {
            var (pos, seq) = (batch[i].Position, batch[i].Sequence);
            int lo = window > 0 ? Math.Max(0, pos - window + 1) : 0;
            for (int h = 0; h < nHead; h++)
            {
                int g = h / (nHead / nHeadKv);
                var scores = new double[pos + 1 - lo];
                for (int j = lo; j <= pos; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++)
                        dot += (double)queries[i * qDim + h * headDim + d] * keys[seq][j * kvDim + g * headDim + d];
                    double s = dot / Math.Sqrt(headDim);
                    scores[j - lo] = softCap > 0 ? softCap * Math.Tanh(s / softCap) : s;
                }
                double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                for (int d = 0; d < headDim; d++)
                {
                    double expected = 0;
                    for (int j = lo; j <= pos; j++)
                        expected += Math.Exp(scores[j - lo] - max) / sum * values[seq][j * kvDim + g * headDim + d];
                    float actual = output[i * qDim + h * headDim + d];
                    Assert.True(Math.Abs(actual - expected) < 2e-5, $"token {i} (sequence {seq}, position {pos}) head {h} dim {d}: {actual} vs {expected}");
                }
            }
        }
    }

    /// <summary>
    /// With F16 caches (the default), the attention without flash must give bit for bit llama.cpp's order, written
    /// here one value at a time: each score a chain of fused multiply-adds over the dimensions of the half-rounded
    /// query and key, times the scale; the softmax (ggml's vector expf in groups of 8, group sums in double), rounded to
    /// half; each output dimension a chain of fused multiply-adds over the positions in order. Query heads per KV head
    /// of 8 (TinyLlama's), 6 (four at a time and two alone) and 1; head sizes of one and two 64-dimension blocks and
    /// one with 8 over; a sliding window and Gemma 2's soft-cap (tanh of the score times the cap's float reciprocal).
    /// </summary>
    [Theory]
    [InlineData(64, 32, 4, 70, 3, 0, 0f)]
    [InlineData(128, 12, 2, 40, 2, 0, 0f)]
    [InlineData(72, 6, 1, 33, 2, 0, 0f)]
    [InlineData(64, 4, 4, 20, 1, 0, 0f)]
    [InlineData(64, 8, 2, 70, 3, 21, 0f)]
    [InlineData(64, 8, 1, 50, 2, 0, 1.5f)]
    public void F16CachesGiveTheOrderOfLlamaCpp(int headDim, int nHead, int nHeadKv, int positions, int tokens, int window, float softCap)
    {
        var config = new ModelConfig
        {
            Architecture = "llama", NVocab = 8, NEmbd = nHead * headDim, NLayer = 1, NHead = nHead, NHeadKv = nHeadKv, NFf = 8, HeadDim = headDim,
            NCtxTrain = 256, NRot = headDim, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-5f,
            SlidingWindow = window, SlidingLayers = [false],
        };
        int kvDim = nHeadKv * headDim, qDim = nHead * headDim, group = nHead / nHeadKv;
        var random = new Random(positions + headDim);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        float[] keys = Random(positions * kvDim), values = Random(positions * kvDim), queries = Random(tokens * qDim);
        var layout = KvCacheLayout.For(config, nSeq: 1, nCtxSeq: 256, maxBatch: tokens, KvCacheType.F16, KvCacheType.F16);
        using var cache = new KvCache(layout);
        fixed (float* k = keys, v = values)
        {
            for (int p = 0; p < positions; p++)
                cache.Store(0, 0, p, k + p * kvDim, v + p * kvDim);
        }
        var batch = new LlamaBatch();
        for (int t = 0; t < tokens; t++)
            batch.Add(0, positions - tokens + t, sequence: 0);
        var ubatch = new UBatch(tokens);
        ubatch.Fill(batch, 0, batch.Count);
        using var pool = new WorkerPool(2);
        using var attention = new Attention(config, cache, pool.Threads, flashAttention: false);
        var output = new float[tokens * qDim];
        float scale = 1.0f / MathF.Sqrt(headDim);
        fixed (float* q = queries, o = output)
            attention.Run(pool, 0, q, ubatch, o, new AttentionOptions(scale, softCap, window));

        static float Half(float x) => (float)(Half)x;
        for (int t = 0; t < tokens; t++)
        {
            // Scores from the first position of the tile that holds the window's first (16 positions a tile).
            int pos = positions - tokens + t, first = window > 0 ? Math.Max(0, pos - window + 1) : 0, start = first / 16 * 16;
            int n = pos + 1 - start, padded = (n + 7) / 8 * 8;
            for (int h = 0; h < nHead; h++)
            {
                int g = h / group;
                var e = new float[padded];
                Array.Fill(e, float.NegativeInfinity);
                for (int j = first; j <= pos; j++)
                {
                    float dot = 0;
                    for (int d = 0; d < headDim; d++)
                        dot = MathF.FusedMultiplyAdd(Half(queries[t * qDim + h * headDim + d]), Half(keys[j * kvDim + g * headDim + d]), dot);
                    float score = dot * scale;
                    e[j - start] = softCap > 0 ? MathF.Tanh(score * (1.0f / softCap)) * softCap : score;
                }
                float max = e.Max();
                double sum = 0;
                for (int i = 0; i < padded; i += 8)
                {
                    var x = GgmlExpF.Exp(Vector256.Create(e, i) - Vector256.Create(max));
                    x.CopyTo(e, i);
                    var half = x.GetUpper() + x.GetLower();
                    sum += (half[0] + half[2]) + (half[1] + half[3]);
                }
                float inverse = (float)(1.0 / sum);
                for (int d = 0; d < headDim; d++)
                {
                    float acc = 0;
                    for (int j = first; j <= pos; j++)
                        acc = MathF.FusedMultiplyAdd(Half(e[j - start] * inverse), Half(values[j * kvDim + g * headDim + d]), acc);
                    float expected = ((acc + 0f) + (0f + 0f)) + ((0f + 0f) + (0f + 0f));
                    float actual = output[t * qDim + h * headDim + d];
                    Assert.True(BitConverter.SingleToInt32Bits(actual) == BitConverter.SingleToInt32Bits(expected),
                        $"token {t} head {h} dim {d}: {actual:R}, llama.cpp's order gives {expected:R}");
                }
            }
        }
    }
}
