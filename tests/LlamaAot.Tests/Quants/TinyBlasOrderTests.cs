using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// Every path's F32 and F16 kernels (matrix-vector and matrix-matrix, the file's layout and each path's repacked groups)
/// return exactly what llama.cpp's tinyBLAS returns on an AVX2 build, the maker of the architecture references (a
/// last-bit difference grows to 1e-3 in the logits of the random gemma3 model). F16 rows are widened and the
/// activations rounded to half, which is what the F32 kernels compute on widened rows: the prompt panels go through
/// those, so a token's result does not depend on how many share its batch.
/// </summary>
public class TinyBlasOrderTests
{
    public static TheoryData<KernelIsa> Isas() => [KernelIsa.Avx512, KernelIsa.Avx2, KernelIsa.Portable];

    [Theory]
    [Trait("Category", "Isa")]
    [MemberData(nameof(Isas))]
    public void F32KernelsReproduceLlamaCppsTinyBlasBitForBit(KernelIsa isa) =>
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.F32, isa, (w, x) => GgmlX86DotModel.TinyBlasDot(MemoryMarshal.Cast<byte, float>(w), MemoryMarshal.Cast<byte, float>(x)));

    [Theory]
    [Trait("Category", "Isa")]
    [MemberData(nameof(Isas))]
    public void F16KernelsReproduceLlamaCppsTinyBlasBitForBit(KernelIsa isa) =>
        GgmlX86DotModel.AssertKernelsMatch(GgmlType.F16, isa, (w, x) => GgmlX86DotModel.TinyBlasDot(
            MemoryMarshal.Cast<byte, ushort>(w).ToArray().Select(Fp16.HalfBitsToSingle).ToArray(), MemoryMarshal.Cast<byte, float>(x)));
}
