using LlamaAot.Model;
using LlamaAot.Model.Ops;
using LlamaAot.Threading;

namespace LlamaAot.Tests.Model;

/// <summary>
/// The attention kernel (both softmax modes) against a plain double-precision attention written here, over many
/// tiles of positions, grouped-query heads and head sizes that are and are not multiples of the vector width.
/// </summary>
public unsafe class AttentionTests
{
    [Theory]
    [InlineData(64, 8, 2, 100, 3, false)]   // GQA 4:1, 7 tiles, a batch of 3 tokens
    [InlineData(64, 8, 2, 100, 3, true)]
    [InlineData(8, 8, 4, 37, 1, false)]     // stories260K's head size
    [InlineData(8, 8, 4, 37, 1, true)]
    [InlineData(12, 4, 4, 33, 2, false)]    // a head size that is not a multiple of 8: the scalar path
    [InlineData(12, 4, 4, 33, 2, true)]
    [InlineData(128, 4, 1, 16, 4, true)]    // exactly one tile, multi-query
    public void MatchesPlainAttention(int headDim, int nHead, int nHeadKv, int positions, int tokens, bool flash)
    {
        var config = new ModelConfig
        {
            Architecture = "llama", NVocab = 8, NEmbd = nHead * headDim, NLayer = 1, NHead = nHead, NHeadKv = nHeadKv, NFf = 8, HeadDim = headDim,
            NCtxTrain = 256, NRot = headDim, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-5f,
        };
        int kvDim = nHeadKv * headDim, qDim = nHead * headDim;
        var random = new Random(positions * 31 + headDim);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        float[] keys = Random(positions * kvDim), values = Random(positions * kvDim), queries = Random(tokens * qDim);

        using var cache = new KvCache(1, 256, nHeadKv, headDim, KvCacheType.F32, KvCacheType.F32);
        fixed (float* k = keys, v = values)
        {
            for (int p = 0; p < positions; p++)
                cache.Store(0, p, k + p * kvDim, v + p * kvDim);
        }
        using var pool = new WorkerPool(2);
        using var attention = new Attention(config, cache, pool.Threads, flash);
        var output = new float[tokens * qDim];
        int first = positions - tokens; // the batch's tokens are the last positions
        fixed (float* q = queries, o = output)
            attention.Run(pool, 0, q, tokens, first, o);

        for (int t = 0; t < tokens; t++)
        {
            for (int h = 0; h < nHead; h++)
            {
                int g = h / (nHead / nHeadKv), n = first + t + 1;
                var scores = new double[n];
                for (int j = 0; j < n; j++)
                {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++)
                        dot += (double)queries[t * qDim + h * headDim + d] * keys[j * kvDim + g * headDim + d];
                    scores[j] = dot / Math.Sqrt(headDim);
                }
                double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                for (int d = 0; d < headDim; d++)
                {
                    double expected = 0;
                    for (int j = 0; j < n; j++)
                        expected += Math.Exp(scores[j] - max) / sum * values[j * kvDim + g * headDim + d];
                    float actual = output[t * qDim + h * headDim + d];
                    Assert.True(Math.Abs(actual - expected) < 2e-5, $"token {t} head {h} dim {d}: {actual} vs {expected}");
                }
            }
        }
    }
}
