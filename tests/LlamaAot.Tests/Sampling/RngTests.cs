using LlamaAot.Sampling;

namespace LlamaAot.Tests.Sampling;

public class RngTests
{
    [Fact]
    public void SplitMix64MatchesItsPublishedFirstOutputs()
    {
        // splitmix64 from state 0 (Vigna's splitmix64.c): the well-known first two outputs.
        ulong state = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, Xoshiro256StarStar.SplitMix64(ref state));
        Assert.Equal(0x6E789E6AA1B965F4UL, Xoshiro256StarStar.SplitMix64(ref state));
    }

    [Theory]
    // Expected values from an independent Python transcription of xoshiro256** 1.0 seeded by splitmix64.
    [InlineData(0u, 0x99EC5F36CB75F2B4UL, 0xBF6E1F784956452AUL, 0x1A5F849D4933E6E0UL, 0x6AA594F1262D2D2CUL)]
    [InlineData(42u, 0x15780B2E0C2EC716UL, 0x6104D9866D113A7EUL, 0xAE17533239E499A1UL, 0xECB8AD4703B360A1UL)]
    [InlineData(0xFFFFFFFFu, 0x55E3F231329B5602UL, 0x4F16521CB00EA1B8UL, 0x86E8869C43C7DD52UL, 0x0FA7A838921751ECUL)]
    public void XoshiroSequenceIsFixedForASeed(uint seed, ulong a, ulong b, ulong c, ulong d)
    {
        var rng = new Xoshiro256StarStar(seed);
        Assert.Equal([a, b, c, d], new[] { rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64() });
    }

    [Fact]
    public void NextDoubleIsInTheUnitIntervalAndUniform()
    {
        var rng = new Xoshiro256StarStar(7);
        int[] deciles = new int[10];
        for (int i = 0; i < 100_000; i++)
        {
            double u = rng.NextDouble();
            Assert.True(u >= 0.0 && u < 1.0, $"{u} is outside [0, 1)");
            deciles[(int)(u * 10)]++;
        }
        // 10000 expected per decile; the standard deviation is about 95.
        Assert.All(deciles, n => Assert.InRange(n, 9500, 10500));
    }
}
