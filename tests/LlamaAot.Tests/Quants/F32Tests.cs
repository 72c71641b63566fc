using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;

namespace LlamaAot.Tests.Quants;

public class F32Tests
{
    /// <summary>
    /// Every path's F32 kernels (matrix-vector and matrix-matrix, the file's layout and the AVX-512 row pairs) return
    /// exactly what llama.cpp's tinyBLAS returns on an AVX2 build, the maker of the architecture references: a last-bit
    /// difference grows to 1e-3 in the logits of the random gemma3 model.
    /// </summary>
    [Theory]
    [Trait("Category", "Isa")]
    [InlineData(KernelIsa.Avx512)]
    [InlineData(KernelIsa.Avx2)]
    [InlineData(KernelIsa.Portable)]
    public void KernelsReproduceLlamaCppsTinyBlasBitForBit(KernelIsa isa) =>
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.F32, isa, (w, x) => GgmlX86DotModel.TinyBlasDot(MemoryMarshal.Cast<byte, float>(w), MemoryMarshal.Cast<byte, float>(x)));
}
