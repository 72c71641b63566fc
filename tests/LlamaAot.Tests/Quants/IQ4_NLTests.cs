using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>IQ4_NL's scalar reference: bytes as llama-quantize writes them, dequantization, and the dot product.</summary>
public class IQ4_NLTests
{
    private static string RandomE256(string type) => Path.Combine(Shared.Models, "random-e256", $"random-e256-l2-{type}.gguf");

    /// <summary>
    /// llama.cpp files holding IQ4_NL tensors, with their F32 source. llama-quantize falls back to IQ4_NL for the
    /// 64-wide stories260K rows in its Q2_K, Q3_K_M and IQ4_XS files.
    /// </summary>
    public static TheoryData<string, string> Files() => new()
    {
        { RandomE256("IQ4_NL"), RandomE256("F32") },
        { Shared.Stories260K("IQ4_NL"), Shared.Stories260K("F32") },
        { Shared.Stories260K("IQ4_XS"), Shared.Stories260K("F32") },
        { Shared.Stories260K("Q2_K"), Shared.Stories260K("F32") },
        { Shared.Stories260K("Q3_K_M"), Shared.Stories260K("F32") },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void QuantizeWritesTheBytesLlamaQuantizeWrites(string quantized, string f32)
    {
        int compared = LlamaQuantizeComparison.AssertSameBytes(GgmlType.IQ4_NL, quantized, f32);
        Assert.True(compared > 0, $"{quantized} holds no IQ4_NL tensor");
    }

    [Fact]
    public void DequantizeReadsLevelsThroughTheTable()
    {
        // d = -0.5 (half 0xB800); byte j holds index j (value j) and index 15 - j (value j + 16).
        var bytes = new byte[18];
        bytes[0] = 0x00;
        bytes[1] = 0xB8;
        for (int j = 0; j < 16; j++)
            bytes[2 + j] = (byte)(j | (15 - j) << 4);
        var y = new float[32];
        BlockIQ4_NL.Dequantize(MemoryMarshal.Cast<byte, BlockIQ4_NL>(bytes), y);

        float[] levelsTimesMinusHalf = [63.5f, 52, 41.5f, 32.5f, 24.5f, 17.5f, 11, 5, -0.5f, -6.5f, -12.5f, -19, -26.5f, -34.5f, -44.5f, -56.5f];
        Assert.Equal(levelsTimesMinusHalf, y[..16]);
        Assert.Equal(Enumerable.Reverse(levelsTimesMinusHalf).ToArray(), y[16..]);
    }

    [Fact]
    public void AZeroBlockStoresScaleZeroAndTheLevelNearestZero()
    {
        var blocks = new BlockIQ4_NL[1];
        BlockIQ4_NL.Quantize(new float[32], blocks);
        var bytes = MemoryMarshal.AsBytes(blocks.AsSpan()).ToArray();
        Assert.Equal("0000" + new string('8', 32), Convert.ToHexString(bytes));
    }

    [Fact]
    public void ValuesOnTheLevelsWithMinus127QuantizeToThemselvesWithScaleOne()
    {
        // The scale search tries id = (itry - 127) / max; with max = -127, itry = 0 gives id = 1, an exact fit.
        var random = new Random(3);
        var x = new float[4 * 32];
        for (int i = 0; i < x.Length; i++)
            x[i] = i % 32 == 5 ? -127 : BlockIQ4_NL.Values[random.Next(16)];
        var blocks = new BlockIQ4_NL[4];
        BlockIQ4_NL.Quantize(x, blocks);
        var y = new float[x.Length];
        BlockIQ4_NL.Dequantize(blocks, y);
        Assert.Equal(x, y);
        Assert.All(blocks, b => Assert.Equal(0x3C00, b.D));
    }

    [Fact]
    public void DotMatchesTheProductOfDequantizedRows()
    {
        var random = new Random(11);
        const int k = 32 * 40;
        var w = new BlockIQ4_NL[k / 32];
        var x = new BlockQ8_0[k / 32];
        BlockIQ4_NL.Quantize(Gaussian(random, k), w);
        BlockQ8_0.QuantizeActivations(Gaussian(random, k), x);
        var wd = new float[k];
        var xd = new float[k];
        BlockIQ4_NL.Dequantize(w, wd);
        BlockQ8_0.Dequantize(x, xd);
        double expected = 0, magnitude = 0;
        for (int i = 0; i < k; i++)
        {
            expected += (double)wd[i] * xd[i];
            magnitude += Math.Abs((double)wd[i] * xd[i]);
        }
        float actual = BlockIQ4_NL.Dot(w, x);
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude, $"{actual} vs {expected} (sum |w x| = {magnitude})");
    }

    internal static float[] Gaussian(Random random, int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return values;
    }

    /// <summary>
    /// The AVX-512 and AVX2 kernels return exactly what llama.cpp's batched x86 path (tinyBLAS: one accumulator per
    /// dot product, ggml's lanes) returns; see IQ4_NL.Simd.cs.
    /// </summary>
    [Fact]
    [Trait("Category", "Isa")]
    public void X86KernelsReproduceLlamaCppBitForBit()
    {
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.IQ4_NL, KernelIsa.Avx512, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.IQ4_NL, KernelIsa.Avx2, LlamaCppX86Dot);
    }

    private static unsafe float LlamaCppX86Dot(byte[] wRow, byte[] xRow)
    {
        var w = MemoryMarshal.Cast<byte, BlockIQ4_NL>(wRow).ToArray();
        var x = MemoryMarshal.Cast<byte, BlockQ8_0>(xRow).ToArray();
        var blocks = new List<GgmlX86DotModel.Block>();
        for (int i = 0; i < w.Length; i++)
        {
            var products = new int[32];
            for (int j = 0; j < 16; j++)
            {
                products[j] = BlockIQ4_NL.Values[w[i].Qs[j] & 0x0F] * x[i].Qs[j];
                products[j + 16] = BlockIQ4_NL.Values[w[i].Qs[j] >> 4] * x[i].Qs[j + 16];
            }
            blocks.Add(new(products, Fp16.HalfBitsToSingle(w[i].D) * Fp16.HalfBitsToSingle(x[i].D)));
        }
        return GgmlX86DotModel.Dot(blocks, hasOffsets: false);
    }
}
