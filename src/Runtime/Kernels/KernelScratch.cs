using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaAot.Kernels;

/// <summary>
/// A per-thread float buffer for kernels that prepare part of their weights once per call: the interleaved
/// matrix-matrix kernels widen each group's scales here (<c>WidenScales</c>) instead of once per tile of columns.
/// Pinned, grown when a call needs more, and reused by every later call on the thread.
/// </summary>
internal static unsafe class KernelScratch
{
    [ThreadStatic]
    private static float[]? t_floats;

    /// <summary>At least <paramref name="count"/> floats, valid until the thread's next call.</summary>
    public static float* Floats(int count)
    {
        var floats = t_floats;
        if (floats is null || floats.Length < count)
            t_floats = floats = GC.AllocateUninitializedArray<float>(Math.Max(count, 4096), pinned: true);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(floats));
    }
}
