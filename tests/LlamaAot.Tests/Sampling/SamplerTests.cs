using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class SamplerTests
{
    /// <summary>Every filter off and temperature 1: draws follow the plain softmax of the logits.</summary>
    private static readonly SamplingOptions Plain = new() { TopK = 0, TopP = 1f, MinP = 0f, Temperature = 1f };

    private static int[] Draw(Sampler sampler, float[] logits, int n) =>
        Enumerable.Range(0, n).Select(_ => sampler.Sample(logits)).ToArray();

    private static int[] Histogram(Sampler sampler, float[] logits, int n)
    {
        int[] counts = new int[logits.Length];
        for (int i = 0; i < n; i++)
            counts[sampler.Sample(logits)]++;
        return counts;
    }

    /// <summary>Pearson's statistic: sum over tokens of (observed - expected)^2 / expected.</summary>
    private static double ChiSquare(int[] counts, double[] probs)
    {
        double n = counts.Sum(), chi2 = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (probs[i] == 0)
                continue;
            double expected = n * probs[i];
            chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
        }
        return chi2;
    }

    // --- greedy ---

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    public void GreedyTakesTheFirstMaximumWhateverTheSeed(float temperature)
    {
        float[] logits = [1f, 3f, 3f, 2f];
        foreach (uint seed in new uint[] { 1, 2, 3, 1234 })
        {
            var sampler = new Sampler(new SamplingOptions { Temperature = temperature, Seed = seed }, logits.Length);
            Assert.Equal([1, 1, 1], Draw(sampler, logits, 3));
        }
    }

    [Fact]
    public void GreedyAppliesThePenaltiesFirst()
    {
        // Token 1 (3.0) wins until it is accepted; then repeat 2 makes it 1.5 and token 2 (2.5) wins.
        float[] logits = [1f, 3f, 2.5f];
        var sampler = new Sampler(new SamplingOptions { Temperature = 0f, RepeatPenalty = 2f }, logits.Length);
        Assert.Equal(1, sampler.Sample(logits));
        sampler.Accept(1);
        Assert.Equal(2, sampler.Sample(logits));
        sampler.Reset(); // forgets the accepted token
        Assert.Equal(1, sampler.Sample(logits));
    }

    [Fact]
    public void RepeatLastNOfMinusOneUsesTheContextLength()
    {
        // nCtx 2: after accepting 1, 0, 0 the window is 0, 0 and token 1 is no longer penalized.
        float[] logits = [1f, 3f, 2.5f];
        var options = new SamplingOptions { Temperature = 0f, RepeatPenalty = 2f, RepeatLastN = -1 };
        var sampler = new Sampler(options, logits.Length, nCtx: 2);
        sampler.Accept(1);
        sampler.Accept(0);
        Assert.Equal(2, sampler.Sample(logits));
        sampler.Accept(0);
        Assert.Equal(1, sampler.Sample(logits));
    }

    // --- determinism ---

    [Fact]
    public void AFlatDistributionDrawsTheTopBitsOfTheGenerator()
    {
        // Eight equal logits: every probability is exactly 1/8, so the token is floor(8u) with u the generator's
        // top 53 bits: the top 3 bits of each xoshiro256** output. For seed 42 those were computed independently
        // (Python) from the outputs 0x15780B2E..., 0x6104D986..., 0xAE175332..., 0xECB8AD47..., ...
        var sampler = new Sampler(Plain with { Seed = 42 }, 8);
        Assert.Equal([0, 3, 5, 7, 7, 6, 5, 6, 6, 4, 5, 2, 6, 2, 5, 7], Draw(sampler, new float[8], 16));
    }

    [Fact]
    public void SameSeedSameTokens()
    {
        float[] logits = RandomLogits(1000, seed: 3).Select(x => x * 0.3f).ToArray();
        var options = new SamplingOptions { Seed = 2024, RepeatPenalty = 1.1f };
        var a = new Sampler(options, logits.Length);
        var b = new Sampler(options, logits.Length);

        for (int i = 0; i < 300; i++)
        {
            int ta = a.Sample(logits), tb = b.Sample(logits);
            Assert.Equal(ta, tb);
            a.Accept(ta);
            b.Accept(tb);
        }
    }

    [Fact]
    public void DifferentSeedsDifferOnAFlatDistribution()
    {
        float[] flat = new float[1000];
        int[] a = Draw(new Sampler(Plain with { Seed = 1 }, flat.Length), flat, 50);
        int[] b = Draw(new Sampler(Plain with { Seed = 2 }, flat.Length), flat, 50);
        Assert.NotEqual(a, b);
        // Not a degenerate generator either: 50 draws from 1000 tokens are nearly all distinct.
        Assert.True(a.Distinct().Count() > 40);
    }

    [Fact]
    public void ResetWithAFixedSeedRepeatsTheDraws()
    {
        float[] flat = new float[100];
        var sampler = new Sampler(Plain with { Seed = 99 }, flat.Length);
        int[] first = Draw(sampler, flat, 20);
        sampler.Reset();
        Assert.Equal(first, Draw(sampler, flat, 20));
        Assert.Equal(99u, sampler.Seed);
    }

    [Fact]
    public void ARandomSeedIsReportedAndReproducible()
    {
        float[] flat = new float[100];
        var random = new Sampler(Plain, flat.Length);
        int[] drawn = Draw(random, flat, 20);

        var replay = new Sampler(Plain with { Seed = random.Seed }, flat.Length);
        Assert.Equal(drawn, Draw(replay, flat, 20));
    }

    // --- distribution ---

    [Fact]
    public void DrawsFollowTheSoftmax()
    {
        // Probabilities 0.1, 0.2, 0.3, 0.4; 40000 draws; 3 degrees of freedom. 21.1 is the chi-square quantile at
        // 1 - 1e-4. The seed is fixed, so the test is deterministic; the bound is only chosen not to be tight.
        double[] probs = [0.1, 0.2, 0.3, 0.4];
        float[] logits = Logs(0.1f, 0.2f, 0.3f, 0.4f);
        int[] counts = Histogram(new Sampler(Plain with { Seed = 12345 }, logits.Length), logits, 40_000);

        Assert.True(ChiSquare(counts, probs) < 21.1, $"counts {string.Join(", ", counts)}");
        // The statistic has the power to fail: the same counts are far from a uniform distribution.
        Assert.True(ChiSquare(counts, [0.25, 0.25, 0.25, 0.25]) > 1000);
    }

    [Fact]
    public void TheDefaultChainOrderGivesTheHandComputedDistribution()
    {
        // Probabilities by id: 0.08, 0.35, 0.05, 0.15, 0.25, 0.12. Chain: top-k 5, top-p 0.9, min-p 0.4, temp 0.5.
        //   top-k 5:     drops id 2 (0.05). Left: 0.35, 0.25, 0.15, 0.12, 0.08 (sum 0.95).
        //   top-p 0.9:   renormalized 0.368, 0.263, 0.158, 0.126, 0.084; running sums 0.368, 0.632, 0.789, 0.916:
        //                the fourth crosses 0.9, so ids 1, 4, 3, 5 stay.
        //   min-p 0.4:   threshold 0.4 * 0.35 = 0.14 drops id 5 (0.12). Left: ids 1, 4, 3.
        //   temp 0.5:    p^2 = 0.1225, 0.0625, 0.0225 (sum 0.2075) -> 0.5904, 0.3012, 0.1084.
        float[] logits = Logs(0.08f, 0.35f, 0.05f, 0.15f, 0.25f, 0.12f);
        var options = new SamplingOptions { TopK = 5, TopP = 0.9f, MinP = 0.4f, Temperature = 0.5f, Seed = 7 };
        int[] counts = Histogram(new Sampler(options, logits.Length), logits, 30_000);

        Assert.Equal(0, counts[0] + counts[2] + counts[5]);
        double[] expected = [0, 0.1225 / 0.2075, 0, 0.0225 / 0.2075, 0.0625 / 0.2075, 0];
        // 2 degrees of freedom; 18.4 is the quantile at 1 - 1e-4.
        Assert.True(ChiSquare(counts, expected) < 18.4, $"counts {string.Join(", ", counts)}");
        // Temperature applied to the kept tokens matters: their unscaled proportions 0.35 : 0.25 : 0.15 are rejected.
        double[] unscaled = [0, 0.35 / 0.75, 0, 0.15 / 0.75, 0.25 / 0.75, 0];
        Assert.True(ChiSquare(counts, unscaled) > 1000);
    }

    [Fact]
    public void TemperatureComesAfterTheFilters()
    {
        // Top-p 0.65 over 0.40, 0.30, ... keeps ids 1 and 3 (running sums 0.40, 0.70). A temperature of 10 flattens
        // the distribution, but only after the cut, so no other token can appear. Had it come first, the flattened
        // probabilities (about 0.21, 0.21, 0.19, 0.20, 0.19) would need four tokens to reach 0.65.
        var options = new SamplingOptions { TopK = 0, TopP = 0.65f, MinP = 0f, Temperature = 10f, Seed = 5 };
        int[] counts = Histogram(new Sampler(options, 5), Logs(FiveProbs), 5000);
        Assert.Equal(0, counts[0] + counts[2] + counts[4]);
        Assert.True(counts[1] > 2000 && counts[3] > 2000, $"counts {string.Join(", ", counts)}");
    }

    [Fact]
    public void SampleDoesNotAllocate()
    {
        // A 32000-token vocabulary with every step active (penalties included). After a warm-up, sampling and
        // accepting allocate nothing: the candidate buffer and the penalty history are reused.
        float[] logits = RandomLogits(32000, seed: 9);
        var options = new SamplingOptions { Seed = 1, RepeatPenalty = 1.1f, FrequencyPenalty = 0.1f };
        var sampler = new Sampler(options, logits.Length);
        var greedy = new Sampler(options with { Temperature = 0f }, logits.Length);
        for (int i = 0; i < 100; i++)
        {
            sampler.Accept(sampler.Sample(logits));
            greedy.Accept(greedy.Sample(logits));
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            sampler.Accept(sampler.Sample(logits));
            greedy.Accept(greedy.Sample(logits));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    // --- validation ---

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Throws<ArgumentNullException>(() => new Sampler(null!, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(new SamplingOptions(), 0));

        var e = Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { RepeatLastN = -1 }, 10));
        Assert.Equal("nCtx", e.ParamName);
        Assert.Contains("RepeatLastN is -1", e.Message);

        var sampler = new Sampler(new SamplingOptions(), 10);
        var wrongLength = Assert.Throws<ArgumentException>(() => sampler.Sample(new float[9]));
        Assert.Contains("expected 10 logits", wrongLength.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Accept(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Accept(10));
    }
}
