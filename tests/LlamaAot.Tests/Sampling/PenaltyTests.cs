using LlamaAot.Sampling;
using static LlamaAot.Tests.Sampling.Candidates;

namespace LlamaAot.Tests.Sampling;

public class PenaltyTests
{
    private static readonly float[] Logits = [2.0f, -1.0f, 0.5f, 3.0f, 0.0f];

    private static float[] Penalize(SamplingOptions options, params int[] accepted)
    {
        var history = new PenaltyHistory(options.RepeatLastN);
        foreach (int token in accepted)
            history.Accept(token);
        var set = Load(Logits);
        Penalties.Apply(set, history, options);
        return LogitsOf(set);
    }

    [Fact]
    public void RepeatDividesPositiveAndMultipliesNonPositiveLogits()
    {
        // Window holds 0, 1, 0, 4 (distinct: 0, 1, 4). Repeat 2:
        //   id 0:  2.0 > 0  -> 2.0 / 2 = 1.0 (once, although it occurs twice)
        //   id 1: -1.0 <= 0 -> -1.0 * 2 = -2.0
        //   id 4:  0.0 <= 0 -> 0.0 * 2 = 0.0
        //   ids 2 and 3 were not accepted: unchanged.
        float[] result = Penalize(new SamplingOptions { RepeatPenalty = 2f }, 0, 1, 0, 4);
        Assert.Equal([1.0f, -2.0f, 0.5f, 3.0f, 0.0f], result);
    }

    [Fact]
    public void FrequencyCountsOccurrencesAndPresenceCountsOnce()
    {
        // Repeat 2, frequency 0.5, presence 0.25; logit -= count * 0.5 + 0.25 after the repeat penalty:
        //   id 0 (count 2):  1.0 - (1.0 + 0.25) = -0.25
        //   id 1 (count 1): -2.0 - (0.5 + 0.25) = -2.75
        //   id 4 (count 1):  0.0 - (0.5 + 0.25) = -0.75
        var options = new SamplingOptions { RepeatPenalty = 2f, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f };
        float[] result = Penalize(options, 0, 1, 0, 4);
        Assert.Equal([-0.25f, -2.75f, 0.5f, 3.0f, -0.75f], result);
    }

    [Fact]
    public void OnlyTheLastNTokensCount()
    {
        // RepeatLastN 2: after 0, 1, 4 the window holds 1 and 4; id 0 has left it.
        float[] result = Penalize(new SamplingOptions { RepeatPenalty = 2f, RepeatLastN = 2 }, 0, 1, 4);
        Assert.Equal([2.0f, -2.0f, 0.5f, 3.0f, 0.0f], result);
    }

    [Fact]
    public void LastNOfZeroDisablesThePenalties()
    {
        float[] result = Penalize(new SamplingOptions { RepeatPenalty = 2f, RepeatLastN = 0 }, 0, 1, 4);
        Assert.Equal(Logits, result);
    }

    [Fact]
    public void NeutralValuesChangeNothing()
    {
        // Defaults: repeat 1, frequency 0, presence 0 (llama.cpp returns early).
        float[] result = Penalize(new SamplingOptions(), 0, 1, 4);
        Assert.Equal(Logits, result);
    }

    [Fact]
    public void HistoryIsARingOfTheLastN()
    {
        var history = new PenaltyHistory(3);
        foreach (int token in new[] { 5, 6, 5, 7, 8 })
            history.Accept(token);

        // 5, 6 dropped out in order; the window is 5, 7, 8.
        Assert.Equal(3, history.Size);
        Assert.Equal(new Dictionary<int, int> { [5] = 1, [7] = 1, [8] = 1 }, history.Counts);

        history.Accept(7); // window 7, 8, 7
        Assert.Equal(new Dictionary<int, int> { [7] = 2, [8] = 1 }, history.Counts);

        history.Clear();
        Assert.Equal(0, history.Size);
        Assert.Empty(history.Counts);
    }
}
