using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// F32 weights x F32 activations: one vector of floats per step, fused multiply-add (ggml_vec_dot_f32).

[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx512, GemmRows = 4, GemmColumns = 4)]
internal static unsafe class F32xF32_Avx512
{
    public const int ValuesPerStep = 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadWeights(byte* w) => Vector512.Load((float*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadActivations(byte* x) => Vector512.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MulAdd(Vector512<float> w, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(w, x, acc);
}

[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx2)]
internal static unsafe class F32xF32_Avx2
{
    public const int ValuesPerStep = 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => Vector256.Load((float*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
}

[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Portable)]
internal static unsafe class F32xF32_Portable
{
    public const int ValuesPerStep = 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadWeights(byte* w) => Vector128.Load((float*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadActivations(byte* x) => Vector128.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MulAdd(Vector128<float> w, Vector128<float> x, Vector128<float> acc) => Vector128.MultiplyAddEstimate(w, x, acc);
}
