using LlamaAot.Gguf;

namespace LlamaAot.Kernels;

/// <summary>
/// Maps (weight type, instruction set, K) to the best generated kernel pair. Preference: kernels that need finite
/// weights (faster) when the matrix is finite, then interleaved (repacked) kernels over kernels on the file's layout
/// (unless repacking is off), and within each, the kernel specialized for K over the generic one. Consulted once
/// per weight tensor when a model loads.
/// </summary>
internal static unsafe partial class KernelRegistry
{
    /// <summary>Set to 0 to keep weights in the file's layout (no repacking at load), e.g. to compare.</summary>
    public const string RepackVariable = "LLAMA_AOT_REPACK";

    private static readonly KernelEntry[] Entries = CreateGeneratedEntries();

    /// <summary>All generated kernel pairs.</summary>
    public static IReadOnlyList<KernelEntry> All => Entries;

    /// <summary>Whether load may repack weights into interleaved groups (LLAMA_AOT_REPACK, default on).</summary>
    public static bool RepackEnabled { get; } = Environment.GetEnvironmentVariable(RepackVariable) != "0";

    /// <summary>
    /// The best pair for these weights on <paramref name="isa"/>, or null when none was generated. Pairs exact only
    /// for finite weights are candidates (and preferred) when <paramref name="weightsFinite"/> says the matrix has
    /// no Inf or NaN; it is asked only if there is such a pair.
    /// </summary>
    public static KernelEntry? Find(GgmlType weights, KernelIsa isa, int k, bool allowRepack = true, Func<bool>? weightsFinite = null)
    {
        KernelEntry? best = null;
        bool? finite = null;
        foreach (var e in Entries)
        {
            if (e.Weights != weights || e.Isa != isa || !e.Serves(k) || (e.IsInterleaved && !(allowRepack && RepackEnabled)))
                continue;
            if (e.FiniteWeightsOnly && !(finite ??= weightsFinite?.Invoke() ?? false))
                continue;
            if (best is null || Rank(e) > Rank(best))
                best = e;
        }
        return best;
    }

    private static int Rank(KernelEntry e) => (e.FiniteWeightsOnly ? 4 : 0) + (e.IsInterleaved ? 2 : 0) + (e.IsSpecialized ? 1 : 0);

    private static partial KernelEntry[] CreateGeneratedEntries();
}
