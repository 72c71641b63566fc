using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// BF16 weights x BF16-rounded activations (stored as floats): a bfloat16 is the top half of a float, so widening
// and shifting left by 16 converts exactly; then fused multiply-add (ggml_vec_dot_bf16).

[KernelPrimitives(typeof(BlockBF16), typeof(BF16Activation), KernelIsa.Avx512)]
internal static unsafe class BF16xBF16_Avx512
{
    public const int ValuesPerStep = 16;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadWeights(byte* w) => (Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)w)) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadActivations(byte* x) => Vector512.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MulAdd(Vector512<float> w, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(w, x, acc);
}

[KernelPrimitives(typeof(BlockBF16), typeof(BF16Activation), KernelIsa.Avx2)]
internal static unsafe class BF16xBF16_Avx2
{
    public const int ValuesPerStep = 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => (Avx2.ConvertToVector256Int32((ushort*)w).AsUInt32() << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
}

[KernelPrimitives(typeof(BlockBF16), typeof(BF16Activation), KernelIsa.Portable)]
internal static unsafe class BF16xBF16_Portable
{
    public const int ValuesPerStep = 4;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadWeights(byte* w) => (Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)w).AsUInt16()) << 16).AsSingle();
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> LoadActivations(byte* x) => Vector128.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MulAdd(Vector128<float> w, Vector128<float> x, Vector128<float> acc) => Vector128.MultiplyAddEstimate(w, x, acc);
}
