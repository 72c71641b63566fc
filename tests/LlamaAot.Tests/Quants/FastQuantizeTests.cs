using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// The fast quantizers the quantize tool uses (<see cref="WeightFormat.QuantizeFast"/>: sub-blocks in vector lanes)
/// against the scalar references byte for byte, which the llama.cpp tests hold to llama-quantize's bytes: Gaussian
/// rows at several scales, and blocks built to hit every branch of the scale searches (zeros, constants, one sign,
/// one value, tiny and huge magnitudes, infinities, NaN where the reference puts it); and the fast F16 reading against
/// the scalar one for every half.
/// </summary>
[Trait("Category", "Isa")]
public class FastQuantizeTests
{
    public static TheoryData<GgmlType> Types => [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    [Theory]
    [MemberData(nameof(Types))]
    public void GaussianRowsQuantizeAsTheReference(GgmlType type)
    {
        var random = new Random(12);
        foreach (double std in new[] { 1e-6, 0.02, 1, 1e4 })
        {
            foreach (int blocks in new[] { 1, 3, 8 })
                AssertSameBytes(type, KQuantTestData.Gaussian(random, blocks * 256, std), $"std {std}, {blocks} blocks");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void EdgeBlocksQuantizeAsTheReference(GgmlType type)
    {
        foreach (var (name, block) in EdgeBlocks())
            AssertSameBytes(type, block, name);
    }

    /// <summary>Every edge block side by side in one row, and the row shifted by one block (other lanes beside each).</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void EdgeBlocksInOneRowQuantizeAsTheReference(GgmlType type)
    {
        var row = EdgeBlocks().SelectMany(b => b.Values).ToArray();
        AssertSameBytes(type, row, "all edge blocks");
        AssertSameBytes(type, row.AsSpan(128, row.Length - 256).ToArray(), "all edge blocks, shifted by half a block");
    }

    /// <summary>
    /// Blocks of 256 values; many mix sub-blocks of different kinds so that lanes of one vector take different
    /// branches (a sub-block is 32 values for Q4_K and Q5_K, 16 for Q6_K).
    /// </summary>
    public static IEnumerable<(string Name, float[] Values)> EdgeBlocks()
    {
        var random = new Random(3);
        float[] Fill(Func<int, float> f) => Enumerable.Range(0, 256).Select(f).ToArray();
        float Normal() => KQuantTestData.Gaussian(random, 1, 1)[0];

        yield return ("zeros", new float[256]);
        yield return ("negative zeros", Fill(_ => -0f));
        yield return ("constant positive", Fill(_ => 0.75f));
        yield return ("constant negative", Fill(_ => -0.75f));
        yield return ("all positive", Fill(_ => MathF.Abs(Normal()) + 0.1f));
        yield return ("all negative", Fill(_ => -MathF.Abs(Normal()) - 0.1f));
        yield return ("one value", Fill(i => i == 77 ? 2.5f : 0));
        yield return ("one negative value per sub-block", Fill(i => i % 16 == 5 ? -1.25f : 0));
        yield return ("alternating sub-blocks of zeros", Fill(i => i / 16 % 2 == 0 ? 0 : Normal()));
        yield return ("alternating 32-blocks of zeros", Fill(i => i / 32 % 2 == 0 ? Normal() : 0));
        yield return ("constant sub-blocks", Fill(i => (i / 16 - 8) * 0.125f));
        yield return ("constant 32-blocks", Fill(i => (i / 32 - 4) * 0.125f));
        yield return ("tiny", Fill(_ => Normal() * 1e-20f));
        yield return ("below GROUP_MAX_EPS", Fill(_ => Normal() * 1e-16f));
        yield return ("subnormal", Fill(_ => Normal() * 1e-40f));
        yield return ("smallest subnormals", Fill(i => i % 3 == 0 ? float.Epsilon : i % 3 == 1 ? -float.Epsilon : 0));
        yield return ("huge", Fill(_ => Normal() * 1e18f));
        yield return ("near float max", Fill(_ => Normal() * 1e38f));
        yield return ("mixed magnitudes per sub-block", Fill(i => Normal() * MathF.Pow(10, i / 16 % 5 * 6 - 12)));
        yield return ("one huge value", Fill(i => i == 200 ? 3e30f : Normal() * 0.01f));
        yield return ("one infinity", Fill(i => i == 40 ? float.PositiveInfinity : Normal()));
        yield return ("one negative infinity", Fill(i => i == 0 ? float.NegativeInfinity : Normal()));
        yield return ("one NaN first", Fill(i => i == 0 ? float.NaN : Normal()));
        yield return ("one NaN inside", Fill(i => i == 100 ? float.NaN : Normal()));
        yield return ("NaN sub-block", Fill(i => i / 16 == 3 ? float.NaN : Normal()));
        yield return ("ties of nearest_int", Fill(i => (i % 32 - 16) * 0.5f));
        yield return ("integers", Fill(i => i % 64 - 32));
        yield return ("sparse", Fill(i => random.Next(8) == 0 ? Normal() : 0));
    }

    private static void AssertSameBytes(GgmlType type, float[] x, string what)
    {
        var format = Formats.Get(type);
        var expected = new byte[format.RowBytes(x.Length)];
        var actual = new byte[expected.Length];
        actual.AsSpan().Fill(0xA5); // every byte must be written
        format.Quantize(x, expected);
        format.QuantizeFast(x, actual);
        int at = actual.AsSpan().CommonPrefixLength(expected);
        if (at < expected.Length)
        {
            int block = at / format.BlockBytes;
            Assert.Fail($"{type}, {what}: block {block} differs from the reference first at byte {at % format.BlockBytes}.\n" +
                $"  reference: {Convert.ToHexString(expected, block * format.BlockBytes, format.BlockBytes)}\n" +
                $"  fast:      {Convert.ToHexString(actual, block * format.BlockBytes, format.BlockBytes)}");
        }
    }

    [Fact]
    public void F16ReadsEveryHalfAsTheReference()
    {
        var halves = new byte[2 * 65536 + 2 * 7]; // every half, then a tail shorter than a vector
        for (int h = 0; h < 65536 + 7; h++)
            BitConverter.TryWriteBytes(halves.AsSpan(2 * h), (ushort)(h * 40503));
        var format = Formats.Get(GgmlType.F16);
        var expected = new float[halves.Length / 2];
        var actual = new float[expected.Length];
        format.Dequantize(halves, expected);
        format.DequantizeFast(halves, actual);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]), $"half {BitConverter.ToUInt16(halves, 2 * i):X4}: {actual[i]} vs {expected[i]}");
    }
}
