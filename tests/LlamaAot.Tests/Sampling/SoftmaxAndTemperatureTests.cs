using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class SoftmaxAndTemperatureTests
{
    [Fact]
    public void SoftmaxNormalizesInPlace()
    {
        // logits ln 1, ln 3, ln 4: probabilities 1/8, 3/8, 4/8, left in id order.
        var set = Load(0f, MathF.Log(3f), MathF.Log(4f));
        Softmax.Apply(set);
        Assert.Equal([0, 1, 2], Ids(set));
        Assert.Equal(0.125f, set.Items[0].P, 1e-6f);
        Assert.Equal(0.375f, set.Items[1].P, 1e-6f);
        Assert.Equal(0.5f, set.Items[2].P, 1e-6f);
    }

    [Fact]
    public void SoftmaxSubtractsTheMaxSoLargeLogitsDoNotOverflow()
    {
        // exp(1000) overflows a float; exp(1000 - max) does not. Probabilities 3/4 and 1/4.
        var set = Load(1000f + MathF.Log(3f), 1000f);
        Softmax.Apply(set);
        Assert.Equal(0.75f, set.Items[0].P, 1e-4f);
        Assert.Equal(0.25f, set.Items[1].P, 1e-4f);
    }

    [Theory]
    // probabilities 0.4 and 0.1 (logits ln 0.4, ln 0.1):
    [InlineData(2.0f, 2f / 3f, 1f / 3f)]     // p^(1/2): sqrt 0.4 : sqrt 0.1 = 2 : 1
    [InlineData(0.5f, 16f / 17f, 1f / 17f)]  // p^2: 0.16 : 0.01 = 16 : 1
    [InlineData(1.0f, 0.8f, 0.2f)]           // unchanged: 0.4 : 0.1
    public void TemperatureRaisesProbabilitiesToThePowerOneOverT(float temperature, float first, float second)
    {
        var set = Load(MathF.Log(0.4f), MathF.Log(0.1f));
        Temperature.Apply(set, temperature);
        Softmax.Apply(set);
        Assert.Equal(first, set.Items[0].P, 1e-6f);
        Assert.Equal(second, set.Items[1].P, 1e-6f);
    }

    [Fact]
    public void TemperatureDividesTheLogits()
    {
        var set = Load(1f, -2f, 0f);
        Temperature.Apply(set, 0.5f);
        Assert.Equal([2f, -4f, 0f], LogitsOf(set));
    }

    [Fact]
    public void GreedyTakesTheFirstOfEqualMaxima()
    {
        var set = Load(1f, 3f, 3f, 2f);
        Assert.Equal(1, Greedy.ArgMax(set.Items));
    }
}
