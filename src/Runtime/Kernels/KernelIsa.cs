using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Kernels;

/// <summary>
/// The instruction-set paths kernels are generated for, best first. The path a process uses is the best one the
/// CPU supports, unless <c>LLAMA_AOT_ISA</c> forces a lower one (tests, or a CPU that misreports).
/// </summary>
public enum KernelIsa
{
    /// <summary>The scalar references (each format's <c>Dot</c>): slow; for tests, benchmarks and diagnosis.</summary>
    Reference = -1,

    /// <summary>Cross-platform Vector128 code: runs anywhere (and is the shape ARM64 NEON takes).</summary>
    Portable = 0,

    /// <summary>x86-64-v3: AVX2 + FMA, 256-bit vectors.</summary>
    Avx2 = 1,

    /// <summary>x86-64-v4: AVX-512 F/BW, 512-bit vectors.</summary>
    Avx512 = 2,
}

public static class KernelIsas
{
    /// <summary>The environment variable that forces a path: <c>avx512</c>, <c>avx2</c>, <c>portable</c> or <c>reference</c>.</summary>
    public const string EnvironmentVariable = "LLAMA_AOT_ISA";

    /// <summary>Whether this CPU (and the way this binary was compiled) can run <paramref name="isa"/>.</summary>
    public static bool IsSupported(KernelIsa isa) => isa switch
    {
        KernelIsa.Avx512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported,
        KernelIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    /// <summary>The best supported path, lowered by <c>LLAMA_AOT_ISA</c> when it is set.</summary>
    /// <exception cref="ArgumentException">LLAMA_AOT_ISA names no path.</exception>
    /// <exception cref="PlatformNotSupportedException">LLAMA_AOT_ISA names a path this CPU cannot run.</exception>
    public static KernelIsa Best => s_best ??= Choose(Environment.GetEnvironmentVariable(EnvironmentVariable));

    private static KernelIsa? s_best;

    /// <summary>
    /// The path's name as logs print it: "avx512", "avx2", "portable", "reference", with "+avx-vnni" where the 256-bit
    /// integer sums take vpdpbusd (the AVX2 kernels, and the AVX-512 kernels that work in 256-bit halves).
    /// </summary>
    public static string Describe(KernelIsa isa) =>
        isa.ToString().ToLowerInvariant() + (isa is KernelIsa.Avx2 or KernelIsa.Avx512 && Int8Dot.Vnni ? "+avx-vnni" : "");

    internal static KernelIsa Choose(string? forced)
    {
        var best = IsSupported(KernelIsa.Avx512) ? KernelIsa.Avx512 : IsSupported(KernelIsa.Avx2) ? KernelIsa.Avx2 : KernelIsa.Portable;
        if (string.IsNullOrEmpty(forced))
            return best;
        if (!Enum.TryParse<KernelIsa>(forced, ignoreCase: true, out var wanted) || !Enum.IsDefined(wanted))
            throw new ArgumentException($"{EnvironmentVariable}={forced} is not one of: avx512, avx2, portable, reference");
        if (!IsSupported(wanted))
            throw new PlatformNotSupportedException($"{EnvironmentVariable}={forced}: this CPU (or this build) cannot run the {wanted} kernels; the best it can run is {best}");
        return wanted;
    }
}
