using LlamaAot.Quants;

namespace LlamaAot.Kernels;

/// <summary>Picks the kernels for one weight matrix: generated for the process's path if any, else the reference.</summary>
internal static unsafe class KernelSelection
{
    /// <summary>
    /// The kernels for <paramref name="rows"/> rows of <paramref name="k"/> values at <paramref name="data"/> (the
    /// file's layout). The data is read only when a candidate is exact for finite weights alone
    /// (<see cref="KernelEntry.FiniteWeightsOnly"/>): then every weight is checked once.
    /// </summary>
    public static KernelEntry Select(WeightFormat format, int k, KernelIsa isa, bool allowRepack, byte* data, int rows)
    {
        if (isa == KernelIsa.Reference)
            return format.ReferenceKernels;
        return KernelRegistry.Find(format.Type, isa, k, allowRepack, () => format.AllFinite(data, rows * format.RowBytes(k)))
            ?? format.ReferenceKernels;
    }
}
