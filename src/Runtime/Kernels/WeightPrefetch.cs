using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels;

/// <summary>
/// Software prefetch for the kernels that stream weights from memory.
/// <para>Matrix-vector kernels (generation) prefetch only where <see cref="MatrixVector"/> says so. On the Intel Xeon
/// of the first speed work one core read 6-7 GB/s through the kernels of the time with the hardware prefetcher alone
/// against 12.9 GB/s in a plain load loop (61% of the Q8_0 kernel's samples on one load); asking for the lines
/// <see cref="Distance"/> bytes ahead of each step took Q8_0 generation from 5.4 to 8.8 tokens/s (TinyLlama shape,
/// one thread). On AMD Zen 4 (EPYC) the same prefetches cost: the hardware prefetcher follows a matrix read front to
/// back, and the bursts of software prefetches (up to 53 per step) stall the core. TinyLlama tg64 at one thread
/// without them, same binary alternated: Q4_K_M 32.5 -> 43.5 t/s (AVX-512) and 27.5 -> 33.5 (AVX2), Q6_K 19 -> 30 and
/// 16.5 -> 20, Q8_0 21.3 -> 23.4 on both paths, Q4_0 39.5 -> 41.8 (AVX2).</para>
/// </summary>
internal static unsafe class WeightPrefetch
{
    /// <summary>Environment variable: 1 or 0 forces the matrix-vector prefetch on or off (to measure a new CPU).</summary>
    public const string Variable = "LLAMA_AOT_PREFETCH";

    /// <summary>
    /// Whether matrix-vector kernels prefetch their weights: <see cref="Variable"/> when set, else off on AMD (and
    /// Hygon) CPUs, where it measured slower, and on elsewhere.
    /// </summary>
    public static readonly bool MatrixVector = Sse.IsSupported && (Environment.GetEnvironmentVariable(Variable) switch
    {
        "1" => true,
        "0" => false,
        _ => !IsAmdFamily(),
    });

    private static bool IsAmdFamily()
    {
        if (!X86Base.IsSupported)
            return false;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        string name = System.Text.Encoding.ASCII.GetString(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vendor));
        return name is "AuthenticAMD" or "HygonGenuine";
    }

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
