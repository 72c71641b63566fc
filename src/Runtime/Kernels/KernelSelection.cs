using LlamaAot.Quants;

namespace LlamaAot.Kernels;

/// <summary>Picks the kernels for one weight matrix: generated for the process's path if any, else the reference.</summary>
internal static class KernelSelection
{
    public static KernelEntry Select(WeightFormat format, int k, KernelIsa isa, bool allowRepack)
    {
        if (isa == KernelIsa.Reference)
            return format.ReferenceKernels;
        return KernelRegistry.Find(format.Type, isa, k, allowRepack) ?? format.ReferenceKernels;
    }
}
