using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>Q5_0's scalar reference against llama.cpp: quantized bytes, dequantized values and the dot product.</summary>
public unsafe class Q5_0Tests
{
    [Fact]
    public void QuantizeMatchesLlamaCppByteForByte()
    {
        var files = LlamaCppQuantizedFiles.AssertQuantizeMatches(GgmlType.Q5_0);
        Assert.Contains("random-e256-l2-Q5_0.gguf", files);
        Assert.Contains("stories260K-Q5_0.gguf", files);
        Assert.Contains("stories260K-Q4_K_M.gguf", files); // Q4_K falls back to Q5_0 on 64-wide rows
    }

    [Fact]
    public void DequantizesACraftedBlock()
    {
        // d = 0.5 (half 0x3800); qh bits 0 and 31 set; byte j of qs holds value j (low nibble) and j + 16 (high).
        byte[] bytes = [0x00, 0x38, 0x01, 0x00, 0x00, 0x80, 0x21, .. Enumerable.Repeat((byte)0x88, 14), 0xF0];
        var y = new float[32];
        Formats.Get(GgmlType.Q5_0).Dequantize(bytes, y);
        Assert.Equal(0.5f, y[0]);   // (1 | 16) - 16 = 1
        Assert.Equal(-7f, y[16]);   // 2 - 16 = -14
        Assert.Equal(-4f, y[1]);    // 8 - 16
        Assert.Equal(-4f, y[30]);
        Assert.Equal(-8f, y[15]);   // 0 - 16
        Assert.Equal(7.5f, y[31]);  // (15 | 16) - 16 = 15
    }

    [Fact]
    public void AnAllZeroBlockIsNegativeZeroScaleAndMidpointQuants()
    {
        // d = 0 / -16 = -0 (half 0x8000); with 1 / d replaced by 0 every quant is 16: nibble 0, fifth bit set.
        var blocks = new BlockQ5_0[1];
        BlockQ5_0.Quantize(new float[32], blocks);
        Assert.Equal(0x8000, blocks[0].D);
        Assert.Equal(0xFFFFFFFFu, blocks[0].HighBits);
        for (int j = 0; j < 16; j++)
            Assert.Equal(0, blocks[0].Qs[j]);
    }

    [Fact]
    public void DotMatchesTheDequantizedDotProduct()
    {
        const int k = 8 * 32;
        var random = new Random(50);
        var w = new BlockQ5_0[k / 32];
        var x = new BlockQ8_0[k / 32];
        BlockQ5_0.Quantize(Gaussian(random, k), w);
        BlockQ8_0.QuantizeActivations(Gaussian(random, k), x);
        var wd = new float[k];
        var xd = new float[k];
        BlockQ5_0.Dequantize(w, wd);
        BlockQ8_0.Dequantize(x, xd);
        double expected = 0, magnitude = 0;
        for (int i = 0; i < k; i++)
        {
            expected += (double)wd[i] * xd[i];
            magnitude += Math.Abs((double)wd[i] * xd[i]);
        }
        float actual = BlockQ5_0.Dot(w, x);
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude, $"{actual} vs {expected} (sum |w x| {magnitude})");
    }

    /// <summary>
    /// Every path's kernels return exactly what llama.cpp's x86 ggml_vec_dot_q5_0_q8_0 returns (the portable one
    /// too: stories260K-Q5_0's F16-cache reference logits, bound 1e-4, moved by 3.6e-3 on its earlier order).
    /// </summary>
    [Fact]
    [Trait("Category", "Isa")]
    public void KernelsReproduceLlamaCppsX86KernelBitForBit()
    {
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q5_0, KernelIsa.Avx512, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q5_0, KernelIsa.Avx2, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q5_0, KernelIsa.Portable, LlamaCppX86Dot);
    }

    private static float LlamaCppX86Dot(byte[] wRow, byte[] xRow)
    {
        var w = MemoryMarshal.Cast<byte, BlockQ5_0>(wRow).ToArray();
        var x = MemoryMarshal.Cast<byte, BlockQ8_0>(xRow).ToArray();
        return GgmlX86DotModel.Dot(w.Select((b, i) => new GgmlX86DotModel.Block(
            Enumerable.Range(0, 32).Select(j => (b.Quant(j) - 16) * x[i].Qs[j]).ToArray(),
            Fp16.HalfBitsToSingle(b.D) * Fp16.HalfBitsToSingle(x[i].D))), hasOffsets: false);
    }

    private static float[] Gaussian(Random random, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}
