using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Kernels;

/// <summary>
/// A generated kernel pair for one weight type, instruction set and K: the pair's instantiation on the type that
/// carries K (<see cref="IInnerDimension"/>), with K = 0 for RunTimeK (the generic pair, K at run time).
/// <para>Matrix-vector: <c>gemv(w, x, y, rows, k)</c> sets y[r] = dot(W[r], x) for r &lt; rows.</para>
/// <para>Matrix-matrix: <c>gemm(w, x, y, rows, cols, k, yStride)</c> sets y[c * yStride + r] = dot(W[r], x[c]).</para>
/// x is activations already converted to <see cref="Activations"/>. W is row after row of weight blocks, or, when
/// <see cref="Rows"/> &gt; 1, groups of that many rows repacked by <see cref="Repack"/> at load (interleaved: the
/// kernels then start at group boundaries, and a group takes as many bytes as its rows did).
/// </summary>
internal sealed unsafe class KernelEntry(
    GgmlType weights,
    KernelIsa isa,
    int k,
    int valuesPerStep,
    ActivationFormat activations,
    string gemvName,
    delegate*<byte*, byte*, float*, int, int, void> gemv,
    string gemmName,
    delegate*<byte*, byte*, float*, int, int, int, nint, void> gemm)
{
    public GgmlType Weights { get; } = weights;
    public KernelIsa Isa { get; } = isa;

    /// <summary>The K this pair is instantiated on as a constant, or 0 for the generic (RunTimeK) pair.</summary>
    public int K { get; } = k;

    /// <summary>Values per primitive step: a generic kernel serves a K that is a multiple of it (interleaved), or any K.</summary>
    public int ValuesPerStep { get; } = valuesPerStep;

    /// <summary>The activation format x must be in.</summary>
    public ActivationFormat Activations { get; } = activations;

    public bool IsSpecialized => K != 0;
    public string GemvName { get; } = gemvName;
    public string GemmName { get; } = gemmName;
    public delegate*<byte*, byte*, float*, int, int, void> Gemv { get; } = gemv;
    public delegate*<byte*, byte*, float*, int, int, int, nint, void> Gemm { get; } = gemm;

    /// <summary>Rows per interleaved group; 1 when the weights stay in the file's layout.</summary>
    public int Rows { get; init; } = 1;

    public bool IsInterleaved => Rows > 1;

    /// <summary>
    /// Repacks one group: <c>repack(src, srcRowBytes, rowCount, k, dst)</c> reads rowCount (1..Rows) rows of the file's
    /// layout and writes the group (missing rows as zeros).
    /// </summary>
    public delegate*<byte*, nint, int, int, byte*, void> Repack { get; init; }

    /// <summary>Exact only for weights without Inf or NaN (<see cref="KernelPrimitivesAttribute.FiniteWeightsOnly"/>).</summary>
    public bool FiniteWeightsOnly { get; init; }

    /// <summary>Whether this pair can serve a matrix with inner dimension <paramref name="k"/>.</summary>
    public bool Serves(int k) => IsSpecialized ? K == k : !IsInterleaved || k % ValuesPerStep == 0;
}
