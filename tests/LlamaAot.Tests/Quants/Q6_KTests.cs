using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public unsafe class Q6_KTests
{
    /// <summary>Every quantized random-e256 file with Q6_K tensors (output.weight in all but Q8_0; all in Q6_K).</summary>
    [Theory]
    [InlineData("Q6_K", 16)]
    [InlineData("Q4_K_M", 3)]
    [InlineData("Q5_K_M", 3)]
    [InlineData("Q4_0", 1)]
    [InlineData("Q2_K", 1)]
    [InlineData("IQ4_XS", 1)]
    public void QuantizesLikeLlamaCpp(string file, int tensors) =>
        Assert.Equal(tensors, KQuantTestData.AssertQuantizesLikeLlamaCpp(file, GgmlType.Q6_K).Count);

    [Fact]
    public void DequantizesACraftedBlock()
    {
        var block = new BlockQ6_K { D = 0x3800 }; // d = 0.5
        for (int s = 0; s < 16; s++)
            block.Scales[s] = (sbyte)(s - 8);
        block.Scales[15] = -128;
        // Half 0: ql[5] = 0x9A, ql[37] = 0x3C, qh[5] = 0b11_10_01_00.
        block.Ql[5] = 0x9A;
        block.Ql[37] = 0x3C;
        block.Qh[5] = 0b11_10_01_00;
        // Half 1: ql[64 + 20] = 0xF0, ql[64 + 52] = 0x01, qh[32 + 20] = 0b01_00_11_10.
        block.Ql[84] = 0xF0;
        block.Ql[116] = 0x01;
        block.Qh[52] = 0b01_00_11_10;
        var y = new float[256];
        BlockQ6_K.Dequantize([block], y);

        // value 5:   low nibble of ql[5] (0xA)  | qh bits 0-1 (0) << 4 = 10, sub-block 0 (scale -8).
        Assert.Equal(0.5f * -8 * (10 - 32), y[5]);
        // value 37:  low nibble of ql[37] (0xC) | qh bits 2-3 (1) << 4 = 28, sub-block 2 (scale -6).
        Assert.Equal(0.5f * -6 * (28 - 32), y[37]);
        // value 69:  high nibble of ql[5] (0x9) | qh bits 4-5 (2) << 4 = 41, sub-block 4 (scale -4).
        Assert.Equal(0.5f * -4 * (41 - 32), y[69]);
        // value 101: high nibble of ql[37] (0x3) | qh bits 6-7 (3) << 4 = 51, sub-block 6 (scale -2).
        Assert.Equal(0.5f * -2 * (51 - 32), y[101]);
        // value 148: low nibble of ql[84] (0x0) | qh[52] bits 0-1 (2) << 4 = 32, sub-block 9 (scale 1): zero.
        Assert.Equal(0f, y[148]);
        // value 180: low nibble of ql[116] (0x1) | bits 2-3 (3) << 4 = 49, sub-block 11 (scale 3).
        Assert.Equal(0.5f * 3 * (49 - 32), y[180]);
        // value 212: high nibble of ql[84] (0xF) | bits 4-5 (0) = 15, sub-block 13 (scale 5).
        Assert.Equal(0.5f * 5 * (15 - 32), y[212]);
        // value 244: high nibble of ql[116] (0x0) | bits 6-7 (1) << 4 = 16, sub-block 15 (scale -128).
        Assert.Equal(0.5f * -128 * (16 - 32), y[244]);
        // Everything else is q = 0: d * scale * -32.
        Assert.Equal(0.5f * -8 * -32, y[0]);
        Assert.Equal(0.5f * -128 * -32, y[255]);
    }

    [Fact]
    public void DequantizesLlamaCppBytesCloseToTheF32Weights()
    {
        // Q6_K of N(0, 0.02) weights: the error of a value is at most half a step, d * |scale| / 2, except where
        // the quant is clamped to 31 (the side opposite the sub-block's largest value): at most one step there.
        using var source = GgufFile.Open(KQuantTestData.RandomE256("F32"));
        using var quantized = GgufFile.Open(KQuantTestData.RandomE256("Q6_K"));
        var tensor = quantized.FindTensor("output.weight")!;
        var expected = MemoryMarshal.Cast<byte, float>(source.GetData(source.FindTensor("output.weight")!));
        var blocks = MemoryMarshal.Cast<byte, BlockQ6_K>(quantized.GetData(tensor));
        var y = new float[expected.Length];
        BlockQ6_K.Dequantize(blocks, y);
        for (int i = 0; i < y.Length; i++)
        {
            var b = blocks[i / 256];
            float step = Math.Abs(Fp16.HalfBitsToSingle(b.D) * b.Scales[i % 256 / 16]);
            float q = y[i] / step;
            float bound = MathF.Abs(q) >= 31 ? step : 0.5f * step;
            Assert.True(Math.Abs(y[i] - expected[i]) <= bound * 1.0001f + 1e-9f, $"value {i}: {y[i]} vs {expected[i]} (step {step})");
        }
    }

    [Fact]
    public void DotMatchesDequantizedProduct() => KQuantTestData.AssertDotMatchesDequantized(GgmlType.Q6_K, 6);

    /// <summary>
    /// A Q6_K block whose integer dot products stay exact in float whatever the order (for the kernel tests):
    /// random 6-bit quants, sub-block scales in [-2, 2] and d = 1, so |scale * (q - 32) * x| &lt;= 960 for |x| &lt;= 15.
    /// </summary>
    internal static void ExactBlock(Random random, Span<byte> bytes)
    {
        random.NextBytes(bytes);
        ref var b = ref MemoryMarshal.AsRef<BlockQ6_K>(bytes);
        for (int s = 0; s < 16; s++)
            b.Scales[s] = (sbyte)random.Next(-2, 3);
        b.D = 0x3C00;
    }
}
