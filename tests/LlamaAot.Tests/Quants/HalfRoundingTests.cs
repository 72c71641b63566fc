using System.Runtime.Intrinsics;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// The vector rounding of floats to half (used for activations before half products, and in attention) against
/// .NET's scalar (float)(Half)x, bit for bit, on the 512-, 256-bit and span forms.
/// </summary>
[Trait("Category", "Isa")]
public unsafe class HalfRoundingTests
{
    private static uint Expected(float x) => BitConverter.SingleToUInt32Bits((float)(Half)x);

    /// <summary>Edges: zeros, the subnormal and normal boundaries, ties, the largest half and the overflow point.</summary>
    public static IEnumerable<float> Edges()
    {
        float[] magnitudes =
        [
            0f, float.Epsilon, 1e-10f, MathF.Pow(2, -25), MathF.Pow(2, -24), 1.5f * MathF.Pow(2, -24), 2.5f * MathF.Pow(2, -24),
            MathF.Pow(2, -14) * (1 - MathF.Pow(2, -12)), MathF.Pow(2, -14), MathF.Pow(2, -14) * (1 + MathF.Pow(2, -11)),
            1f, 1 + MathF.Pow(2, -11), 1 + 3 * MathF.Pow(2, -11), 1 + MathF.Pow(2, -11) + MathF.Pow(2, -20), 2047.5f, 2048.5f,
            65504f, 65519.996f, 65520f, 65536f, 1e10f, float.MaxValue, float.PositiveInfinity, float.NaN,
        ];
        foreach (float m in magnitudes)
        {
            yield return m;
            yield return -m;
        }
    }

    /// <summary>Edges, then random bit patterns over every exponent.</summary>
    private static float[] Inputs()
    {
        var random = new Random(5);
        var values = Edges().ToList();
        while (values.Count % 16 != 0 || values.Count < 200_000)
            values.Add(BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32)));
        return values.ToArray();
    }

    [Fact]
    public void The_512_bit_rounding_is_exactly_the_scalar_one()
    {
        float[] x = Inputs();
        for (int i = 0; i < x.Length; i += 16)
        {
            var rounded = HalfVectors.RoundToHalf(Vector512.Create(x.AsSpan(i, 16)));
            for (int j = 0; j < 16; j++)
                Assert.True(Same(x[i + j], rounded[j]), $"{x[i + j]:R} (0x{BitConverter.SingleToUInt32Bits(x[i + j]):x8}): {rounded[j]:R}, expected {(float)(Half)x[i + j]:R}");
        }
    }

    [Fact]
    public void The_256_bit_rounding_is_exactly_the_scalar_one()
    {
        float[] x = Inputs();
        for (int i = 0; i < x.Length; i += 8)
        {
            var rounded = HalfVectors.RoundToHalf(Vector256.Create(x.AsSpan(i, 8)));
            for (int j = 0; j < 8; j++)
                Assert.True(Same(x[i + j], rounded[j]), $"{x[i + j]:R} (0x{BitConverter.SingleToUInt32Bits(x[i + j]):x8}): {rounded[j]:R}, expected {(float)(Half)x[i + j]:R}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(31)]
    [InlineData(1000)]
    public void F16_activations_round_every_value_including_the_tail(int n)
    {
        float[] x = Inputs()[..n];
        var activations = new F16Activation[n];

        F16Activation.QuantizeActivations(x, activations);

        for (int i = 0; i < n; i++)
            Assert.True(Same(x[i], activations[i].Value), $"value {i}: {x[i]:R} -> {activations[i].Value:R}");
    }

    /// <summary>The same bits, or both NaN (the payload of a NaN is not specified).</summary>
    private static bool Same(float x, float rounded) =>
        float.IsNaN(x) ? float.IsNaN(rounded) : BitConverter.SingleToUInt32Bits(rounded) == Expected(x);
}
