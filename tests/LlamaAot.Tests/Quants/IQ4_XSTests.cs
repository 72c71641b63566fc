using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>IQ4_XS's scalar reference: bytes as llama-quantize writes them, dequantization, and the dot product.</summary>
public class IQ4_XSTests
{
    [Fact]
    public void QuantizeWritesTheBytesLlamaQuantizeWrites()
    {
        string dir = Path.Combine(Shared.Models, "random-e256");
        int compared = LlamaQuantizeComparison.AssertSameBytes(GgmlType.IQ4_XS,
            Path.Combine(dir, "random-e256-l2-IQ4_XS.gguf"), Path.Combine(dir, "random-e256-l2-F32.gguf"));
        Assert.Equal(15, compared);
    }

    [Fact]
    public void DequantizeAppliesSuperBlockAndSubBlockScales()
    {
        // d = 0.25 (half 0x3400). Sub-block scales ls = 32 + s with s = -32, -1, 0, 1, 5, 17, 31, -20: low nibbles in
        // scales_l, high two bits in scales_h. Every index byte is 0xF8: level 1 (index 8) for values 0..15 of a
        // sub-block and level 113 (index 15) for values 16..31.
        int[] s = [-32, -1, 0, 1, 5, 17, 31, -20];
        var bytes = new byte[136];
        bytes[0] = 0x00;
        bytes[1] = 0x34;
        ushort scalesH = 0;
        for (int ib = 0; ib < 8; ib++)
        {
            int ls = s[ib] + 32;
            bytes[4 + ib / 2] |= (byte)((ls & 15) << 4 * (ib % 2));
            scalesH |= (ushort)((ls >> 4) << 2 * ib);
        }
        bytes[2] = (byte)scalesH;
        bytes[3] = (byte)(scalesH >> 8);
        bytes.AsSpan(8).Fill(0xF8);
        // Hand-checked bytes of the layout: ls = 0, 31, 32, 33, 37, 49, 63, 12.
        Assert.Equal("0034" + "A43E" + "F01015CF", Convert.ToHexString(bytes, 0, 8));

        var y = new float[256];
        BlockIQ4_XS.Dequantize(MemoryMarshal.Cast<byte, BlockIQ4_XS>(bytes), y);
        for (int ib = 0; ib < 8; ib++)
        {
            float dl = 0.25f * s[ib];
            Assert.All(y.AsSpan(32 * ib, 16).ToArray(), v => Assert.Equal(dl * 1, v));
            Assert.All(y.AsSpan(32 * ib + 16, 16).ToArray(), v => Assert.Equal(dl * 113, v));
        }
        Assert.Equal(-8f, y[0]);
        Assert.Equal(-904f, y[16]);
        Assert.Equal(7.75f * 113, y[6 * 32 + 16]);
    }

    [Fact]
    public void AZeroSuperBlockStoresMinusZeroAndMidScales()
    {
        var blocks = new BlockIQ4_XS[1];
        BlockIQ4_XS.Quantize(new float[256], blocks);
        var bytes = MemoryMarshal.AsBytes(blocks.AsSpan()).ToArray();
        // d = -0.0 (half 0x8000); every ls = 32 (scales_l 0, scales_h 0xAAAA); every index 8 (level 1).
        Assert.Equal("0080" + "AAAA" + "00000000" + new string('8', 256), Convert.ToHexString(bytes));
    }

    [Fact]
    public void ValuesOnTheLevelsQuantizeToThemselves()
    {
        // Every sub-block on the levels with -127 in it searches a scale of 1; the largest (first) gives d = -1/32
        // and every sub-block multiplier (ls - 32) = -32: exactly 1 again.
        var random = new Random(5);
        var x = new float[2 * 256];
        for (int i = 0; i < x.Length; i++)
            x[i] = i % 32 == 9 ? -127 : BlockIQ4_NL.Values[random.Next(16)];
        var blocks = new BlockIQ4_XS[2];
        BlockIQ4_XS.Quantize(x, blocks);
        var y = new float[x.Length];
        BlockIQ4_XS.Dequantize(blocks, y);
        Assert.Equal(x, y);
        Assert.All(blocks, b => Assert.Equal(0xA800, b.D));
    }

    [Fact]
    public void DotMatchesTheProductOfDequantizedRows()
    {
        var random = new Random(13);
        const int k = 256 * 6;
        var w = new BlockIQ4_XS[k / 256];
        var x = new BlockQ8_K[k / 256];
        BlockIQ4_XS.Quantize(IQ4_NLTests.Gaussian(random, k), w);
        var xf = IQ4_NLTests.Gaussian(random, k);
        BlockQ8_K.QuantizeActivations(xf, x);
        var wd = new float[k];
        BlockIQ4_XS.Dequantize(w, wd);
        double expected = 0, magnitude = 0;
        for (int i = 0; i < k; i++)
        {
            double xi = (double)x[i / 256].D * Q8(x[i / 256], i % 256);
            expected += wd[i] * xi;
            magnitude += Math.Abs(wd[i] * xi);
        }
        float actual = BlockIQ4_XS.Dot(w, x);
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude, $"{actual} vs {expected} (sum |w x| = {magnitude})");
    }

    private static unsafe int Q8(BlockQ8_K b, int j) => b.Qs[j];
}
