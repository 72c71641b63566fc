using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public unsafe class Q3_KTests
{
    [Theory]
    [InlineData("Q2_K", 6)]   // attn_v, attn_output and ffn_down of both layers
    [InlineData("Q3_K_M", 9)] // token_embd, attn_q/k and ffn_gate/up
    public void QuantizesLikeLlamaCpp(string file, int tensors) =>
        Assert.Equal(tensors, KQuantTestData.AssertQuantizesLikeLlamaCpp(file, GgmlType.Q3_K).Count);

    [Fact]
    public void DequantizesACraftedBlock()
    {
        // Signed scales (stored + 32): s0 = 1, s1 = -32, s5 = 5, s8 = 31, s15 = -1, every other 0.
        var b = new BlockQ3_K { D = 0x3800 }; // 0.5
        byte[] scales = [0xF1, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0xF0, 0xBA, 0xA8, 0xAA, 0x6A];
        for (int i = 0; i < 12; i++)
            b.Scales[i] = scales[i];
        b.Qs[0] = 0x0B;     // low bits of values 0 (3) and 32 (2)
        b.Qs[16] = 0x21;    // values 16 (1) and 80 (2)
        b.Qs[32] = 0x02;    // value 128 (2)
        b.Qs[63] = 0x40;    // value 255 (1)
        b.HMask[0] = 0x11;  // high bits of values 0 (bit 0) and 128 (bit 4)
        b.HMask[16] = 0x04; // value 80 (bit 2)
        var y = new float[256];
        BlockQ3_K.Dequantize([b], y);

        Assert.Equal(0.5f * 1 * 3, y[0]);        // high bit set: q = low
        Assert.Equal(0.5f * 1 * -4, y[1]);       // no high bit: q = 0 - 4
        Assert.Equal(0.5f * -32 * -3, y[16]);
        Assert.Equal(0f, y[32]);                 // sub-block 2 has scale 0
        Assert.Equal(0.5f * 5 * 2, y[80]);
        Assert.Equal(0.5f * 31 * 2, y[128]);
        Assert.Equal(0.5f * -1 * -4, y[240]);
        Assert.Equal(0.5f * -1 * -3, y[255]);
    }

    [Fact]
    public void DequantizesLlamaCppBytesCloseToTheF32Weights()
    {
        // Requantization rounds x / dl to the nearest of -4..3, so a value is within half a step |dl| of its weight
        // unless the clamp cut it off: then the weight lies beyond the end of the grid (below -4 or above 3 steps).
        using var source = GgufFile.Open(KQuantTestData.RandomE256("F32"));
        using var quantized = GgufFile.Open(KQuantTestData.RandomE256("Q3_K_M"));
        var tensor = quantized.FindTensor("token_embd.weight")!;
        var expected = MemoryMarshal.Cast<byte, float>(source.GetData(source.FindTensor("token_embd.weight")!));
        var blocks = MemoryMarshal.Cast<byte, BlockQ3_K>(quantized.GetData(tensor));
        var y = new float[expected.Length];
        BlockQ3_K.Dequantize(blocks, y);
        int checkedValues = 0;
        for (int i = 0; i < y.Length; i++)
        {
            float dl = Fp16.HalfBitsToSingle(blocks[i / 256].D) * BlockQ3_K.Scale(blocks[i / 256], i % 256 / 16);
            if (dl == 0)
                continue; // no scale: the quantizer keeps its search's quants and every value is 0
            int q = (int)MathF.Round(y[i] / dl);
            float error = (expected[i] - y[i]) / dl; // in steps
            bool beyondGrid = (q == -4 && error < 0) || (q == 3 && error > 0);
            Assert.True(beyondGrid || Math.Abs(error) <= 0.5001f, $"value {i}: {y[i]} (q {q}) vs {expected[i]} (step {dl})");
            checkedValues++;
        }
        Assert.True(checkedValues > 0.99 * y.Length, $"only {checkedValues} of {y.Length} values have a scale");
    }

    [Fact]
    public void DotMatchesDequantizedProduct() => KQuantTestData.AssertDotMatchesDequantized(GgmlType.Q3_K, 3);

    /// <summary>
    /// A Q3_K block whose integer dot products stay exact in float whatever the order (for the kernel tests): random
    /// quants and d = 1; one sub-block (a random one) keeps a random scale from the full 6-bit range, the others get
    /// scales in [-8, 7], so that a row of up to 56 blocks with |x| &lt;= 15 (and one 127 per block) sums far below
    /// 2^24 in absolute value.
    /// </summary>
    internal static void ExactBlock(Random random, Span<byte> bytes)
    {
        random.NextBytes(bytes);
        ref var b = ref MemoryMarshal.AsRef<BlockQ3_K>(bytes);
        int wide = random.Next(16);
        for (int k = 0; k < 12; k++)
            b.Scales[k] = 0;
        for (int s = 0; s < 16; s++)
        {
            int l = (s == wide ? random.Next(-32, 32) : random.Next(-8, 8)) + 32;
            b.Scales[s % 8] |= (byte)((l & 0xF) << (s < 8 ? 0 : 4));
            b.Scales[8 + s % 4] |= (byte)((l >> 4) << (2 * (s / 4)));
        }
        b.D = 0x3C00;
    }
}
