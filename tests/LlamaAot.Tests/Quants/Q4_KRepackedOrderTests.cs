using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// Every Q4_K kernel of a path (the file's layout and, where there is one, the interleaved layout; a specialized K and
/// a generic one) against the scalar model of llama.cpp's repacked Q4_K product
/// (<see cref="GgmlX86DotModel.Q4_KRepackedDot"/>), bit for bit: ggml_gemm's order for every token, in the
/// matrix-vector kernel and in matrix-matrix products of n = 1..9 tokens (llama.cpp gives its last n % 4 tokens its
/// gemv's order instead; here a token's result does not depend on its place in the batch). 20 rows: a whole 16-row group and a padded one. A CPU without the path checks nothing here (test.sh reruns
/// with AVX-512 and AVX2 switched off).
/// </summary>
[Trait("Category", "Isa")]
public unsafe class Q4_KRepackedOrderTests
{
    [Theory]
    [InlineData(KernelIsa.Avx512)]
    [InlineData(KernelIsa.Avx2)]
    [InlineData(KernelIsa.Portable)]
    public void Every_kernel_computes_llama_cpps_repacked_float_operations(KernelIsa isa)
    {
        if (!KernelIsas.IsSupported(isa))
            return;
        var format = Formats.Get(GgmlType.Q4_K);
        var random = new Random(4 + (int)isa);
        const int rows = 20, tokens = 9;
        foreach (int k in new[] { 256, 7 * 256 })
        {
            int wRowBytes = (int)format.RowBytes(k), xRowBytes = format.Activations.RowBytes(k);
            var w = new byte[rows * wRowBytes];
            var x = new byte[tokens * xRowBytes];
            for (int r = 0; r < rows; r++)
                format.Quantize(GgmlX86DotModel.Gaussian(random, k), w.AsSpan(r * wRowBytes, wRowBytes));
            for (int t = 0; t < tokens; t++)
                format.Activations.Quantize(GgmlX86DotModel.Gaussian(random, k), x.AsSpan(t * xRowBytes, xRowBytes));
            float Expected(int r, int t) => GgmlX86DotModel.Q4_KRepackedDot(
                w.AsSpan(r * wRowBytes, wRowBytes), MemoryMarshal.Cast<byte, BlockQ8_K>(x.AsSpan(t * xRowBytes, xRowBytes)));

            var onFileLayout = KernelRegistry.Find(GgmlType.Q4_K, isa, k, allowRepack: false)!;
            var best = KernelRegistry.Find(GgmlType.Q4_K, isa, k)!;
            foreach (var entry in best.IsInterleaved ? new[] { onFileLayout, best } : [onFileLayout])
            {
                Assert.Equal(k == 256, entry.IsSpecialized);
                var kernelWeights = entry.IsInterleaved ? GgmlX86DotModel.Repack(entry, w, wRowBytes, rows, k) : w;
                var y = new float[rows * tokens];
                fixed (byte* wp = kernelWeights, xp = x)
                fixed (float* yp = y)
                {
                    for (int t = 0; t < tokens; t++)
                    {
                        entry.Gemv(wp, xp + t * xRowBytes, yp, rows, k);
                        for (int r = 0; r < rows; r++)
                            AssertBits(Expected(r, t), y[r], $"{entry.GemvName} k={k} row {r} token {t}");
                    }
                    for (int n = 1; n <= tokens; n++)
                    {
                        entry.Gemm(wp, xp, yp, rows, n, k, rows);
                        for (int t = 0; t < n; t++)
                        {
                            for (int r = 0; r < rows; r++)
                                AssertBits(Expected(r, t), y[t * rows + r], $"{entry.GemmName} k={k} {n} tokens, row {r} token {t}");
                        }
                    }
                }
            }
        }
    }

    private static void AssertBits(float expected, float actual, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"{what}: {actual:R}, llama.cpp's repacked kernel gives {expected:R}");
}
