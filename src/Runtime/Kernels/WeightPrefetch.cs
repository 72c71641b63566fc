using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels;

/// <summary>
/// Software prefetch for the matrix-vector kernels, which stream every weight byte once per token. One core of this
/// machine read 6-7 GB/s through the kernels with the hardware prefetcher alone against 12.9 GB/s in a plain load
/// loop: the kernels' loads stalled on memory (61% of the Q8_0 kernel's samples on one load). Asking for the lines
/// <see cref="Distance"/> bytes ahead of each step keeps enough misses in flight: Q8_0 generation went from 5.4 to 8.3
/// tokens/s at 2 KiB and 8.8 at 4 KiB (TinyLlama shape, one thread, `llama-aot bench -p 0 -n 32`).
/// </summary>
internal static unsafe class WeightPrefetch
{
    public const int Distance = 4096;

    /// <summary>
    /// The largest weight step (bytes of one group of rows) whose matrix-matrix tiles prefetch as the matrix-vector
    /// kernels do. A tile of a few columns (a batch of a few sequences' tokens) streams its weights from memory too:
    /// with prefetch, `kernel-rate Q4_0 2048 268435456`, 4 tokens, one core, went 134-137 -> 156-160 GFLOP/s. The
    /// K-quant groups (16 rows of a 256-value super-block, 2.3-3.4 KiB a step) lost with it (Q6_K 4 tokens from memory
    /// 64-69 -> 51-56): 36-53 prefetches a step in kernels that need every register. Constant for a kernel: the test
    /// folds away. Only a call's first tile of columns prefetches, once per line: the later tiles find the weights in
    /// cache, and asking again cost the F16 row pairs of the AVX-512 path at the time (32-byte steps) 84 -> 91 GFLOP/s
    /// at 64 tokens.
    /// </summary>
    public const int GemmStepBytes = 512;

    /// <summary>Prefetches the cache lines of [p, p + bytes) into every cache level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void At(byte* p, nint bytes)
    {
        if (!Sse.IsSupported)
            return;
        for (nint offset = 0; offset < bytes; offset += 64)
            Sse.Prefetch0(p + offset);
    }

    /// <summary>Prefetches the cache lines of [p + Distance, p + Distance + bytes) into every cache level.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ahead(byte* p, nint bytes)
    {
        if (!Sse.IsSupported)
            return;
        for (nint offset = 0; offset < bytes; offset += 64)
            Sse.Prefetch0(p + Distance + offset);
    }
}
