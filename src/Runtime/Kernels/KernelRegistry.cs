using LlamaAot.Gguf;

namespace LlamaAot.Kernels;

/// <summary>
/// Maps (weight type, instruction set, K) to the best generated kernel pair: the kernel specialized for K when one
/// exists, else the generic one. Consulted once per weight tensor when a model loads.
/// </summary>
internal static unsafe partial class KernelRegistry
{
    private static readonly KernelEntry[] Entries = CreateGeneratedEntries();

    /// <summary>All generated kernel pairs.</summary>
    public static IReadOnlyList<KernelEntry> All => Entries;

    /// <summary>The pair for these weights on <paramref name="isa"/>, or null when none was generated.</summary>
    public static KernelEntry? Find(GgmlType weights, KernelIsa isa, int k)
    {
        KernelEntry? generic = null;
        foreach (var e in Entries)
        {
            if (e.Weights != weights || e.Isa != isa)
                continue;
            if (e.K == k)
                return e;
            if (e.K == 0)
                generic = e;
        }
        return generic;
    }

    private static partial KernelEntry[] CreateGeneratedEntries();
}
