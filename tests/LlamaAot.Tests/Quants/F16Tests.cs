using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public class F16Tests
{
    /// <summary>
    /// Every path's F16 kernels return exactly what llama.cpp's tinyBLAS returns on an AVX2 build (halves widened,
    /// activations rounded to half), which is what the F32 kernels return on the widened rows: the prompt panels go
    /// through those, so a token's result does not depend on how many share its batch.
    /// </summary>
    [Theory]
    [Trait("Category", "Isa")]
    [InlineData(KernelIsa.Avx512)]
    [InlineData(KernelIsa.Avx2)]
    [InlineData(KernelIsa.Portable)]
    public void KernelsReproduceLlamaCppsTinyBlasBitForBit(KernelIsa isa) =>
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.F16, isa, (w, x) => GgmlX86DotModel.TinyBlasDot(
            MemoryMarshal.Cast<byte, ushort>(w).ToArray().Select(Fp16.HalfBitsToSingle).ToArray(), MemoryMarshal.Cast<byte, float>(x)));
}
