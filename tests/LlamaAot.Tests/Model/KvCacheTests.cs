using LlamaAot.Model;

namespace LlamaAot.Tests.Model;

/// <summary>The cache's layout and what a sequence can go back to once a sliding-window ring has wrapped.</summary>
public sealed class KvCacheTests
{
    private static ModelConfig Config(int window, params bool[] sliding) => new()
    {
        Architecture = "gemma3", NVocab = 8, NEmbd = 64, NLayer = sliding.Length, NHead = 1, NHeadKv = 1, NFf = 8, HeadDim = 64,
        NCtxTrain = 1024, NRot = 64, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-6f,
        SlidingWindow = window, SlidingLayers = sliding,
    };

    [Fact]
    public void SlidingLayersKeepTheWindowAndOneBatchInWholeTilesFullLayersEveryPosition()
    {
        var layout = KvCacheLayout.For(Config(8, true, false), nSeq: 2, nCtxSeq: 256, maxBatch: 20, KvCacheType.F16, KvCacheType.F16);
        Assert.Equal([32, 256], layout.Cells); // 8 + 20 - 1 = 27 positions, rounded up to 2 tiles
        Assert.Equal(2L * 64 * 2 * 2 * (32 + 256), layout.Bytes);
        // A ring as large as the context is no ring.
        Assert.Equal([64, 64], KvCacheLayout.For(Config(60, true, false), 1, 64, 20, KvCacheType.F16, KvCacheType.F16).Cells);
    }

    [Fact]
    public void GoingBackBeforeWhatTheRingHoldsForgetsTheWholeSequence()
    {
        using var cache = new KvCache(KvCacheLayout.For(Config(8, true, false), nSeq: 1, nCtxSeq: 256, maxBatch: 9, KvCacheType.F32, KvCacheType.F32));
        Assert.Equal(16, cache.Cells(0));
        cache.Extend(0, 40); // the ring holds positions 24..39
        Assert.Equal(35, cache.Truncate(0, 35)); // a token at 35 reads 28..35: held
        Assert.Equal(31, cache.Truncate(0, 31)); // reads 24..31: held
        Assert.Equal(0, cache.Truncate(0, 30));  // reads 23..30: 23 was overwritten by 39
        Assert.Equal(0, cache.Length(0));
        cache.Extend(0, 12); // nothing overwritten yet: any length back is fine
        Assert.Equal(3, cache.Truncate(0, 3));
    }
}
