using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>Q4_1's scalar reference against llama.cpp: quantized bytes, dequantized values and the dot product.</summary>
public unsafe class Q4_1Tests
{
    [Fact]
    public void QuantizeMatchesLlamaCppByteForByte()
    {
        var files = LlamaCppQuantizedFiles.AssertQuantizeMatches(GgmlType.Q4_1);
        Assert.Contains("random-e256-l2-Q4_1.gguf", files);
        Assert.Contains("stories260K-Q4_1.gguf", files);
    }

    [Fact]
    public void DequantizesACraftedBlock()
    {
        // d = 0.5 (half 0x3800), m = -2 (half 0xC000); byte j holds value j (low nibble) and value j + 16 (high).
        byte[] bytes = [0x00, 0x38, 0x00, 0xC0, 0xF3, 0x10, .. new byte[13], 0x0F];
        var y = new float[32];
        Formats.Get(GgmlType.Q4_1).Dequantize(bytes, y);
        Assert.Equal(-0.5f, y[0]);  // 3 * 0.5 - 2
        Assert.Equal(5.5f, y[16]);  // 15 * 0.5 - 2
        Assert.Equal(-2f, y[1]);    // 0
        Assert.Equal(-1.5f, y[17]); // 1
        Assert.Equal(-2f, y[5]);
        Assert.Equal(5.5f, y[15]);  // 15
        Assert.Equal(-2f, y[31]);   // 0
    }

    [Fact]
    public void AConstantBlockKeepsItsValueAsTheOffset()
    {
        // max == min: d = 0, so 1 / d is replaced by 0 and every nibble is 0; the value lives in m.
        var x = Enumerable.Repeat(0.75f, 32).ToArray();
        var blocks = new BlockQ4_1[1];
        BlockQ4_1.Quantize(x, blocks);
        Assert.Equal(0, blocks[0].D);
        Assert.Equal(0.75f, Fp16.HalfBitsToSingle(blocks[0].M));
        for (int j = 0; j < 16; j++)
            Assert.Equal(0, blocks[0].Qs[j]);
    }

    [Fact]
    public void DotMatchesTheDequantizedDotProduct()
    {
        const int k = 8 * 32;
        var random = new Random(41);
        var w = new BlockQ4_1[k / 32];
        var x = new BlockQ8_1[k / 32];
        BlockQ4_1.Quantize(Gaussian(random, k), w);
        BlockQ8_1.QuantizeActivations(Gaussian(random, k), x);
        var wd = new float[k];
        BlockQ4_1.Dequantize(w, wd);

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
        float actual = BlockQ4_1.Dot(w, x);
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude, $"{actual} vs {expected} (sum |w x| {magnitude})");
    }

    /// <summary>
    /// The AVX-512 and AVX2 kernels return exactly what llama.cpp's x86 ggml_vec_dot_q4_1_q8_1 returns (its AVX2
    /// branch, which its AVX-512 builds run too): the offsets summed apart and added after the 8 lanes.
    /// </summary>
    [Fact]
    [Trait("Category", "Isa")]
    public void X86KernelsReproduceLlamaCppBitForBit()
    {
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q4_1, KernelIsa.Avx512, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q4_1, KernelIsa.Avx2, LlamaCppX86Dot);
    }

    private static float LlamaCppX86Dot(byte[] wRow, byte[] xRow)
    {
        var w = MemoryMarshal.Cast<byte, BlockQ4_1>(wRow).ToArray();
        var x = MemoryMarshal.Cast<byte, BlockQ8_1>(xRow).ToArray();
        var blocks = new List<GgmlX86DotModel.Block>();
        for (int i = 0; i < w.Length; i++)
        {
            var products = new int[32];
            for (int j = 0; j < 16; j++)
            {
                products[j] = (w[i].Qs[j] & 0x0F) * x[i].Qs[j];
                products[j + 16] = (w[i].Qs[j] >> 4) * x[i].Qs[j + 16];
            }
            blocks.Add(new(products, Fp16.HalfBitsToSingle(w[i].D) * Fp16.HalfBitsToSingle(x[i].D), Fp16.HalfBitsToSingle(w[i].M), Fp16.HalfBitsToSingle(x[i].S)));
        }
        return GgmlX86DotModel.Dot(blocks, hasOffsets: true);
    }

    private static float[] Gaussian(Random random, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}
