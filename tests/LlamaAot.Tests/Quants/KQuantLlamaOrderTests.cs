using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// The K-quant kernels that claim llama.cpp's float operations (AVX-512: Q5_K, Q6_K and its 16-row interleaved layout;
/// AVX2: Q2_K, Q3_K, Q5_K, Q6_K, IQ4_XS; portable: Q6_K) against the scalar model of its x86
/// ggml_vec_dot_{type}_q8_K (<see cref="GgmlX86DotModel.KQuantDot"/>): equal bit for bit, matrix-vector and
/// matrix-matrix, a specialized K and a generic one. Q4_K follows llama.cpp's repacked product instead
/// (Q4_KRepackedOrderTests). A CPU without the path checks nothing here (test.sh reruns with AVX-512 off).
/// </summary>
[Trait("Category", "Isa")]
public class KQuantLlamaOrderTests
{
    [Theory]
    [InlineData(GgmlType.Q5_K, KernelIsa.Avx512)]
    [InlineData(GgmlType.Q6_K, KernelIsa.Avx512)]
    [InlineData(GgmlType.Q2_K, KernelIsa.Avx2)]
    [InlineData(GgmlType.Q3_K, KernelIsa.Avx2)]
    [InlineData(GgmlType.Q5_K, KernelIsa.Avx2)]
    [InlineData(GgmlType.Q6_K, KernelIsa.Avx2)]
    [InlineData(GgmlType.Q6_K, KernelIsa.Portable)]
    [InlineData(GgmlType.IQ4_XS, KernelIsa.Avx2)]
    public void ComputesLlamaCppsFloatOperations(GgmlType type, KernelIsa isa) =>
        GgmlX86DotModel.AssertKernelsMatch(type, isa, (w, x) => GgmlX86DotModel.KQuantDot(type, w, MemoryMarshal.Cast<byte, BlockQ8_K>(x)));
}
