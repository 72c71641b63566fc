using LlamaAot.Sampling;

namespace LlamaAot.Tests.Sampling;

public class SamplingOptionsTests
{
    [Fact]
    public void DefaultsAreLlamaCpps()
    {
        var o = new SamplingOptions();
        Assert.Equal(0.8f, o.Temperature);
        Assert.Equal(40, o.TopK);
        Assert.Equal(0.95f, o.TopP);
        Assert.Equal(0.05f, o.MinP);
        Assert.Equal(1.0f, o.RepeatPenalty);
        Assert.Equal(64, o.RepeatLastN);
        Assert.Equal(0f, o.FrequencyPenalty);
        Assert.Equal(0f, o.PresencePenalty);
        Assert.Null(o.Seed);
    }

    public static TheoryData<string, Func<SamplingOptions>> Invalid() => new()
    {
        { "TopK", () => new SamplingOptions { TopK = -1 } },
        { "TopP", () => new SamplingOptions { TopP = 0f } },
        { "TopP", () => new SamplingOptions { TopP = 1.01f } },
        { "TopP", () => new SamplingOptions { TopP = float.NaN } },
        { "MinP", () => new SamplingOptions { MinP = -0.01f } },
        { "MinP", () => new SamplingOptions { MinP = 1.5f } },
        { "MinP", () => new SamplingOptions { MinP = float.NaN } },
        { "Temperature", () => new SamplingOptions { Temperature = float.NaN } },
        { "Temperature", () => new SamplingOptions { Temperature = float.PositiveInfinity } },
        { "RepeatPenalty", () => new SamplingOptions { RepeatPenalty = 0f } },
        { "RepeatPenalty", () => new SamplingOptions { RepeatPenalty = -1.1f } },
        { "RepeatPenalty", () => new SamplingOptions { RepeatPenalty = float.PositiveInfinity } },
        { "RepeatLastN", () => new SamplingOptions { RepeatLastN = -2 } },
        { "FrequencyPenalty", () => new SamplingOptions { FrequencyPenalty = float.NaN } },
        { "PresencePenalty", () => new SamplingOptions { PresencePenalty = float.NegativeInfinity } },
        // `with` goes through the same checks.
        { "TopK", () => new SamplingOptions() with { TopK = -40 } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidValuesAreRejectedWithTheirName(string property, Func<SamplingOptions> make)
    {
        var e = Assert.ThrowsAny<ArgumentException>(make);
        Assert.Equal(property, e.ParamName);
        Assert.Contains($"SamplingOptions.{property} must", e.Message);
    }

    [Fact]
    public void EdgeValuesAreAccepted()
    {
        var o = new SamplingOptions
        {
            Temperature = -1f, // greedy, as llama.cpp's --temp -1
            TopK = 0,
            TopP = 1f,
            MinP = 1f,
            RepeatLastN = -1,
            RepeatPenalty = 0.5f,
            FrequencyPenalty = -2f,
            PresencePenalty = 2f,
            Seed = 0,
        };
        Assert.Equal(-1, o.RepeatLastN);
        Assert.Equal(0f, (o with { MinP = 0f }).MinP);
    }
}
