using LlamaAot.Gguf;

namespace LlamaAot.Kernels;

/// <summary>
/// A generated kernel pair for one weight type, instruction set and K (0 = generic, K at run time).
/// <para>Matrix-vector: <c>gemv(w, x, y, rows, k)</c> sets y[r] = dot(W[r], x) for r &lt; rows.</para>
/// <para>Matrix-matrix: <c>gemm(w, x, y, rows, cols, k, yStride)</c> sets y[c * yStride + r] = dot(W[r], x[c]).</para>
/// W is row after row of weight blocks; x is activations already converted to the weight type's activation format.
/// </summary>
internal sealed unsafe class KernelEntry(
    GgmlType weights,
    KernelIsa isa,
    int k,
    string gemvName,
    delegate*<byte*, byte*, float*, int, int, void> gemv,
    string gemmName,
    delegate*<byte*, byte*, float*, int, int, int, nint, void> gemm)
{
    public GgmlType Weights { get; } = weights;
    public KernelIsa Isa { get; } = isa;

    /// <summary>The K this pair is specialized for, or 0 for the generic pair.</summary>
    public int K { get; } = k;

    public bool IsSpecialized => K != 0;
    public string GemvName { get; } = gemvName;
    public string GemmName { get; } = gemmName;
    public delegate*<byte*, byte*, float*, int, int, void> Gemv { get; } = gemv;
    public delegate*<byte*, byte*, float*, int, int, int, nint, void> Gemm { get; } = gemm;
}
