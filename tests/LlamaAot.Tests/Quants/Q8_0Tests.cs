using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public class Q8_0Tests
{
    /// <summary>
    /// Every path's kernels return exactly what llama.cpp's x86 ggml_vec_dot_q8_0_q8_0 returns: perplexity over
    /// 128-token chunks is sensitive to the last bit (see Q8_0.Simd.cs), and so are the random architecture models.
    /// </summary>
    [Fact]
    [Trait("Category", "Isa")]
    public void KernelsReproduceLlamaCppsX86KernelBitForBit()
    {
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q8_0, KernelIsa.Avx512, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q8_0, KernelIsa.Avx2, LlamaCppX86Dot);
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.Q8_0, KernelIsa.Portable, LlamaCppX86Dot);
    }

    private static unsafe float LlamaCppX86Dot(byte[] wRow, byte[] xRow)
    {
        var w = MemoryMarshal.Cast<byte, BlockQ8_0>(wRow).ToArray();
        var x = MemoryMarshal.Cast<byte, BlockQ8_0>(xRow).ToArray();
        var blocks = new List<GgmlX86DotModel.Block>();
        for (int i = 0; i < w.Length; i++)
        {
            var products = new int[32];
            for (int j = 0; j < 32; j++)
                products[j] = w[i].Qs[j] * x[i].Qs[j];
            blocks.Add(new(products, Fp16.HalfBitsToSingle(w[i].D) * Fp16.HalfBitsToSingle(x[i].D)));
        }
        return GgmlX86DotModel.Dot(blocks, hasOffsets: false);
    }
}
