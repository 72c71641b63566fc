using System.Runtime.Intrinsics;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public unsafe class Q4_KTests
{
    /// <summary>The random-e256 files with Q4_K tensors (Q3_K_M's are attn_output and ffn_down of some layers).</summary>
    [Theory]
    [InlineData("Q4_K_M", 13)]
    [InlineData("Q3_K_M", 4)]
    public void QuantizesLikeLlamaCpp(string file, int tensors) =>
        Assert.Equal(tensors, KQuantTestData.AssertQuantizesLikeLlamaCpp(file, GgmlType.Q4_K).Count);

    /// <summary>
    /// Hand-packed scales and mins (get_scale_min_k4), with the high 2 bits of sub-blocks 4..7 in use:
    /// scales 5, 7, 1, 63, 6, 45, 1, 3; mins 2, 0, 4, 17, 3, 50, 15, 9.
    /// </summary>
    internal static readonly byte[] CraftedScales = [0x05, 0x87, 0x01, 0x3F, 0x02, 0xC0, 0x04, 0x11, 0x36, 0x2D, 0xF1, 0x93];

    [Fact]
    public void UnpacksCraftedScalesAndMins()
    {
        int[] scales = [5, 7, 1, 63, 6, 45, 1, 3], mins = [2, 0, 4, 17, 3, 50, 15, 9];
        for (int j = 0; j < 8; j++)
            Assert.Equal((scales[j], mins[j]), KQuantScaleMin.Get(j, CraftedScales));
        fixed (byte* p = CraftedScales)
        {
            var all = KQuantScaleMin.Unpack(p);
            for (int j = 0; j < 8; j++)
            {
                Assert.Equal(scales[j], all.GetElement(j));
                Assert.Equal(mins[j], all.GetElement(8 + j));
            }
        }
    }

    [Fact]
    public void DequantizesACraftedBlock()
    {
        var block = new BlockQ4_K { D = 0x3800, DMin = 0x3400 }; // d = 0.5, dmin = 0.25
        for (int i = 0; i < 12; i++)
            block.Scales[i] = CraftedScales[i];
        block.Qs[3] = 0x5F;       // value 3 (sub-block 0): 15, value 35 (sub-block 1): 5
        block.Qs[32 + 31] = 0xF0; // value 95 (sub-block 2): 0, value 127 (sub-block 3): 15
        block.Qs[64 + 7] = 0xA3;  // value 135 (sub-block 4): 3, value 167 (sub-block 5): 10
        block.Qs[96] = 0x21;      // value 192 (sub-block 6): 1, value 224 (sub-block 7): 2
        var y = new float[256];
        BlockQ4_K.Dequantize([block], y);
        Assert.Equal(0.5f * 5 * 15 - 0.25f * 2, y[3]);
        Assert.Equal(0.5f * 7 * 5 - 0.25f * 0, y[35]);
        Assert.Equal(0.5f * 1 * 0 - 0.25f * 4, y[95]);
        Assert.Equal(0.5f * 63 * 15 - 0.25f * 17, y[127]);
        Assert.Equal(0.5f * 6 * 3 - 0.25f * 3, y[135]);
        Assert.Equal(0.5f * 45 * 10 - 0.25f * 50, y[167]);
        Assert.Equal(0.5f * 1 * 1 - 0.25f * 15, y[192]);
        Assert.Equal(0.5f * 3 * 2 - 0.25f * 9, y[224]);
        // Everything else is q = 0: -dmin * min.
        Assert.Equal(-0.25f * 2, y[0]);
        Assert.Equal(-0.25f * 9, y[255]);
    }

    [Fact]
    public void DequantizesLlamaCppBytesCloseToTheF32Weights() => KQuantTestData.AssertDequantizesCloseToF32("Q4_K_M", GgmlType.Q4_K, 0.12);

    [Fact]
    public void DotMatchesDequantizedProduct() => KQuantTestData.AssertDotMatchesDequantized(GgmlType.Q4_K, 4);

    /// <summary>
    /// A Q4_K block whose integer dot products stay exact in float whatever the order (for the kernel tests):
    /// random nibbles, scales and mins in 0..3, d = 1 and dmin = 0.5, so |(scale * q - min / 2) * x| &lt;= 720 for |x| &lt;= 15.
    /// </summary>
    internal static void ExactBlock(Random random, Span<byte> bytes)
    {
        random.NextBytes(bytes);
        fixed (byte* p = bytes)
        {
            var b = (BlockQ4_K*)p;
            SmallScalesAndMins(random, b->Scales, 4);
            b->D = 0x3C00;
            b->DMin = 0x3800;
        }
    }

    /// <summary>Packs random scales and mins below <paramref name="limit"/> (at most 16: no high bits).</summary>
    internal static void SmallScalesAndMins(Random random, byte* packed, int limit)
    {
        for (int j = 0; j < 4; j++)
        {
            packed[j] = (byte)random.Next(limit);
            packed[j + 4] = (byte)random.Next(limit);
            packed[j + 8] = (byte)(random.Next(limit) | random.Next(limit) << 4);
        }
    }
}
