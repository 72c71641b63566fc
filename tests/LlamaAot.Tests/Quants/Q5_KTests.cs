using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public unsafe class Q5_KTests
{
    /// <summary>The random-e256 files with Q5_K tensors (Q3_K_M's are attn_v).</summary>
    [Theory]
    [InlineData("Q5_K_M", 13)]
    [InlineData("Q3_K_M", 2)]
    public void QuantizesLikeLlamaCpp(string file, int tensors) =>
        Assert.Equal(tensors, KQuantTestData.AssertQuantizesLikeLlamaCpp(file, GgmlType.Q5_K).Count);

    [Fact]
    public void DequantizesACraftedBlock()
    {
        // The scales, mins and nibbles of Q4_KTests.DequantizesACraftedBlock, plus fifth bits.
        var block = new BlockQ5_K { D = 0x3800, DMin = 0x3400 }; // d = 0.5, dmin = 0.25
        for (int i = 0; i < 12; i++)
            block.Scales[i] = Q4_KTests.CraftedScales[i];
        block.Qs[3] = 0x5F;
        block.Qs[32 + 31] = 0xF0;
        block.Qs[64 + 7] = 0xA3;
        block.Qs[96] = 0x21;
        block.Qh[3] = 0b0000_0001;  // value 3 (chunk 0, low): +16; value 35 (chunk 0, high): none
        block.Qh[31] = 0b0000_1000; // value 95 (chunk 1, low, bit 2): none; value 127 (chunk 1, high, bit 3): +16
        block.Qh[7] = 0b0010_0000;  // value 135 (bit 4): none; value 167 (bit 5): +16
        block.Qh[0] = 0b1100_0000;  // value 192 (bit 6) and value 224 (bit 7): +16; value 0 (bit 0): none
        var y = new float[256];
        BlockQ5_K.Dequantize([block], y);
        Assert.Equal(0.5f * 5 * 31 - 0.25f * 2, y[3]);
        Assert.Equal(0.5f * 7 * 5 - 0.25f * 0, y[35]);
        Assert.Equal(0.5f * 1 * 0 - 0.25f * 4, y[95]);
        Assert.Equal(0.5f * 63 * 31 - 0.25f * 17, y[127]);
        Assert.Equal(0.5f * 6 * 3 - 0.25f * 3, y[135]);
        Assert.Equal(0.5f * 45 * 26 - 0.25f * 50, y[167]);
        Assert.Equal(0.5f * 1 * 17 - 0.25f * 15, y[192]);
        Assert.Equal(0.5f * 3 * 18 - 0.25f * 9, y[224]);
        Assert.Equal(-0.25f * 2, y[0]);
        // value 32 is chunk 0's high nibble 0 with bit 1 of qh[0] clear; value 64 + 32 + 0 = 96 takes bit 3 of qh[0].
        Assert.Equal(-0.25f * 0, y[32]);
        Assert.Equal(-0.25f * 17, y[96]);
    }

    [Fact]
    public void DequantizesLlamaCppBytesCloseToTheF32Weights() => KQuantTestData.AssertDequantizesCloseToF32("Q5_K_M", GgmlType.Q5_K, 0.06);

    [Fact]
    public void DotMatchesDequantizedProduct() => KQuantTestData.AssertDotMatchesDequantized(GgmlType.Q5_K, 5);

    /// <summary>
    /// A Q5_K block whose integer dot products stay exact in float whatever the order (for the kernel tests):
    /// random quants, scales and mins in 0..2, d = 1 and dmin = 0.5, so |(scale * q - min / 2) * x| &lt;= 945 for |x| &lt;= 15.
    /// </summary>
    internal static void ExactBlock(Random random, Span<byte> bytes)
    {
        random.NextBytes(bytes);
        fixed (byte* p = bytes)
        {
            var b = (BlockQ5_K*)p;
            Q4_KTests.SmallScalesAndMins(random, b->Scales, 3);
            b->D = 0x3C00;
            b->DMin = 0x3800;
        }
    }
}
