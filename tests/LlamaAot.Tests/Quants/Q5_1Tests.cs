using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>Q5_1's scalar reference against llama.cpp: quantized bytes, dequantized values and the dot product.</summary>
public unsafe class Q5_1Tests
{
    [Fact]
    public void QuantizeMatchesLlamaCppByteForByte()
    {
        var files = LlamaCppQuantizedFiles.AssertQuantizeMatches(GgmlType.Q5_1);
        Assert.Contains("random-e256-l2-Q5_1.gguf", files);
        Assert.Contains("stories260K-Q5_1.gguf", files);
        Assert.Contains("stories260K-Q5_K_M.gguf", files); // Q5_K falls back to Q5_1 on 64-wide rows
    }

    [Fact]
    public void DequantizesACraftedBlock()
    {
        // d = 0.5 (half 0x3800), m = -2 (half 0xC000); qh bits 0 and 31 set; byte j of qs holds value j (low nibble)
        // and value j + 16 (high nibble).
        byte[] bytes = [0x00, 0x38, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x80, 0x21, .. Enumerable.Repeat((byte)0x88, 14), 0xF0];
        var y = new float[32];
        Formats.Get(GgmlType.Q5_1).Dequantize(bytes, y);
        Assert.Equal(6.5f, y[0]);   // (1 | 16) * 0.5 - 2
        Assert.Equal(-1f, y[16]);   // 2 * 0.5 - 2
        Assert.Equal(2f, y[1]);     // 8 * 0.5 - 2
        Assert.Equal(-2f, y[15]);   // 0
        Assert.Equal(13.5f, y[31]); // (15 | 16) * 0.5 - 2
    }

    [Fact]
    public void AConstantBlockKeepsItsValueAsTheOffset()
    {
        // max == min: d = 0, so 1 / d is replaced by 0 and every quant is 0; the value lives in m.
        var x = Enumerable.Repeat(-1.25f, 32).ToArray();
        var blocks = new BlockQ5_1[1];
        BlockQ5_1.Quantize(x, blocks);
        Assert.Equal(0, blocks[0].D);
        Assert.Equal(-1.25f, Fp16.HalfBitsToSingle(blocks[0].M));
        Assert.Equal(0u, blocks[0].HighBits);
        for (int j = 0; j < 16; j++)
            Assert.Equal(0, blocks[0].Qs[j]);
    }

    [Fact]
    public void TheMaximumQuantizesTo31WithItsFifthBit()
    {
        var x = Enumerable.Range(0, 32).Select(i => (float)i).ToArray(); // min 0, max 31: d = 1, q = x
        var blocks = new BlockQ5_1[1];
        BlockQ5_1.Quantize(x, blocks);
        var y = new float[32];
        BlockQ5_1.Dequantize(blocks, y);
        Assert.Equal(x, y);
        Assert.Equal(0xFFFF0000u, blocks[0].HighBits);
    }

    [Fact]
    public void DotMatchesTheDequantizedDotProduct()
    {
        const int k = 8 * 32;
        var random = new Random(51);
        var w = new BlockQ5_1[k / 32];
        var x = new BlockQ8_1[k / 32];
        BlockQ5_1.Quantize(Gaussian(random, k), w);
        BlockQ8_1.QuantizeActivations(Gaussian(random, k), x);
        var wd = new float[k];
        BlockQ5_1.Dequantize(w, wd);

        // sum over blocks of sum_j (q_j d + m) * d_x q_x,j, except that llama.cpp's offset term uses s, the half
        // rounding of d_x * sum(q_x), rather than the exact d_x * sum(q_x).
        double expected = 0, magnitude = 0;
        for (int b = 0; b < w.Length; b++)
        {
            float dx = Fp16.HalfBitsToSingle(x[b].D), m = Fp16.HalfBitsToSingle(w[b].M);
            int qSum = 0;
            for (int j = 0; j < 32; j++)
            {
                double term = (double)wd[b * 32 + j] * dx * x[b].Qs[j];
                expected += term;
                magnitude += Math.Abs(term);
                qSum += x[b].Qs[j];
            }
            expected += m * ((double)Fp16.HalfBitsToSingle(x[b].S) - (double)dx * qSum);
        }
        float actual = BlockQ5_1.Dot(w, x);
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude, $"{actual} vs {expected} (sum |w x| {magnitude})");
    }

    /// <summary>
    /// The AVX-512 and AVX2 kernels return exactly what llama.cpp's x86 ggml_vec_dot_q5_1_q8_1 returns (its AVX2
    /// branch, which its AVX-512 builds run too): the offsets summed apart and added after the 8 lanes.
    /// </summary>
    [Fact]
    [Trait("Category", "Isa")]
    public void X86KernelsReproduceLlamaCppBitForBit()
    {
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q5_1, KernelIsa.Avx512, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q5_1, KernelIsa.Avx2, LlamaCppX86Dot);
    }

    private static float LlamaCppX86Dot(byte[] wRow, byte[] xRow)
    {
        var w = MemoryMarshal.Cast<byte, BlockQ5_1>(wRow).ToArray();
        var x = MemoryMarshal.Cast<byte, BlockQ8_1>(xRow).ToArray();
        return GgmlX86DotModel.Dot(w.Select((b, i) => new GgmlX86DotModel.Block(
            Enumerable.Range(0, 32).Select(j => b.Quant(j) * x[i].Qs[j]).ToArray(),
            Fp16.HalfBitsToSingle(b.D) * Fp16.HalfBitsToSingle(x[i].D),
            Fp16.HalfBitsToSingle(b.M), Fp16.HalfBitsToSingle(x[i].S))), hasOffsets: true);
    }

    private static float[] Gaussian(Random random, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}
