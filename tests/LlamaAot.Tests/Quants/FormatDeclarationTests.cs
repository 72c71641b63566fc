using System.Runtime.CompilerServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>Each format's declaration agrees with the GGUF wire geometry, and its conversions round like ggml's.</summary>
public class FormatDeclarationTests
{
    [Fact]
    public void BlockSizesMatchTheWireTable()
    {
        foreach (var format in Formats.All)
        {
            var g = GgmlTypes.GeometryOf(format.Type);
            Assert.True(g.BlockSize == format.BlockSize, $"{format.Type}: {format.BlockSize} values per block, wire table says {g.BlockSize}");
            Assert.True(g.BlockBytes == format.BlockBytes, $"{format.Type}: {format.BlockBytes} bytes per block, wire table says {g.BlockBytes}");
        }
    }

    [Fact]
    public void ActivationBlocksMatchTheWireTable()
    {
        Assert.Equal(GgmlTypes.GeometryOf(GgmlType.Q8_0).BlockBytes, Unsafe.SizeOf<BlockQ8_0>());
        Assert.Equal(GgmlTypes.GeometryOf(GgmlType.Q8_1).BlockBytes, Unsafe.SizeOf<BlockQ8_1>());
        Assert.Equal(GgmlTypes.GeometryOf(GgmlType.Q8_K).BlockBytes, Unsafe.SizeOf<BlockQ8_K>());
    }

    [Fact]
    public void HalfToSingleIsExactForEveryHalf()
    {
        for (int bits = 0; bits <= ushort.MaxValue; bits++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            float actual = Fp16.HalfBitsToSingle((ushort)bits);
            if (float.IsNaN(expected))
                Assert.True(float.IsNaN(actual), $"0x{bits:X4}");
            else
                Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual), $"0x{bits:X4}: {actual} != {expected}");
        }
    }

    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(1.00390625f, 0x3F80)]      // exactly halfway between 0x3F80 and 0x3F81: to even
    [InlineData(1.01171875f, 0x3F82)]      // halfway between 0x3F81 and 0x3F82: to even
    [InlineData(1.0078125f, 0x3F81)]
    [InlineData(-2.5f, 0xC020)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    public void SingleToBFloat16RoundsToNearestEven(float x, int expected) =>
        Assert.Equal((ushort)expected, Fp16.ToBFloat16Bits(x));

    [Fact]
    public void Q8_0ActivationsUse127OverAmaxAndRoundHalfToEven()
    {
        // amax = 127 makes the multiplier exactly 1, so x = 2.5 and 3.5 are true ties: round half to even gives 2
        // and 4 (the weight quantizer's roundf would give 3 and 4).
        var x = new float[32];
        x[0] = 127;
        x[1] = 2.5f;
        x[2] = 3.5f;
        x[3] = -2.5f;
        var blocks = new BlockQ8_0[1];
        BlockQ8_0.QuantizeActivations(x, blocks);
        unsafe
        {
            Assert.Equal(127, blocks[0].Qs[0]);
            Assert.Equal(2, blocks[0].Qs[1]);
            Assert.Equal(4, blocks[0].Qs[2]);
            Assert.Equal(-2, blocks[0].Qs[3]);
        }
        Assert.Equal(1.0f, Fp16.HalfBitsToSingle(blocks[0].D));

        BlockQ8_0.Quantize(x, blocks);
        unsafe
        {
            Assert.Equal(3, blocks[0].Qs[1]);
            Assert.Equal(-3, blocks[0].Qs[3]);
        }
    }

    [Fact]
    public void NearestIntRoundsHalfToEven()
    {
        Assert.Equal(2, QuantMath.NearestInt(2.5f));
        Assert.Equal(4, QuantMath.NearestInt(3.5f));
        Assert.Equal(-2, QuantMath.NearestInt(-2.5f));
        Assert.Equal(-127, QuantMath.NearestInt(-126.6f));
    }

    [Fact]
    public void Q4_0QuantizeRoundTripsOnItsGrid()
    {
        // Values already on the Q4_0 grid (d = 0.5, q - 8 in -8..7) come back exactly.
        var x = Enumerable.Range(0, 32).Select(i => 0.5f * ((i % 16) - 8)).ToArray();
        var blocks = new BlockQ4_0[1];
        BlockQ4_0.Quantize(x, blocks);
        var y = new float[32];
        BlockQ4_0.Dequantize(blocks, y);
        Assert.Equal(x, y);
    }
}

/// <summary>The vectorized activation quantizers against their scalar twins, byte for byte.</summary>
public class ActivationQuantizerTests
{
    public static TheoryData<int> Seeds() => [1, 2, 3, 4, 5];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Q8_0MatchesItsReferenceBitForBit(int seed)
    {
        var x = Inputs(seed, 64 * 32);
        var fast = new BlockQ8_0[64];
        var reference = new BlockQ8_0[64];
        BlockQ8_0.QuantizeActivations(x, fast);
        BlockQ8_0.QuantizeActivationsReference(x, reference);
        Assert.Equal(Bytes(reference), Bytes(fast));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public unsafe void Q8_0SHoldsTheSameQuantsWithFloatScaleAndSum(int seed)
    {
        var x = Inputs(seed, 16 * 32);
        var q8 = new BlockQ8_0[16];
        var q8s = new BlockQ8_0S[16];
        BlockQ8_0.QuantizeActivationsReference(x, q8);
        BlockQ8_0S.QuantizeActivations(x, q8s);
        for (int b = 0; b < 16; b++)
        {
            Assert.Equal(Fp16.HalfBitsToSingle(q8[b].D), q8s[b].D);
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                Assert.Equal(q8[b].Qs[j], q8s[b].Qs[j]);
                sum += q8[b].Qs[j];
            }
            Assert.Equal(sum, q8s[b].Sum);
        }
    }

    /// <summary>Gaussian values, plus blocks of zeros, of exact ties (k + 0.5 with a multiplier of 1) and of one spike.</summary>
    private static float[] Inputs(int seed, int n)
    {
        var random = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
            x[i] = (float)(random.NextDouble() * 2 - 1) * (i % 97 + 1);
        Array.Clear(x, 0, 32);
        for (int j = 32; j < 64; j++)
            x[j] = j == 32 ? 127 : (j % 7) - 3.5f;
        x[64] = 1e-30f;
        x[70] = -5e4f;
        return x;
    }

    private static byte[] Bytes<T>(T[] blocks) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(blocks.AsSpan()).ToArray();
}
