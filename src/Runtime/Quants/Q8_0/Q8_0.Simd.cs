using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q8_0 weights x Q8_0 activations (ggml_vec_dot_q8_0_q8_0). Signed x signed bytes: vpmaddubsw (or vpdpbusd) needs
// an unsigned first operand, so the weights' absolute values meet the activations with the weights' signs applied;
// the pair sums cannot saturate because |q| <= 127. Each block's integer sum is exact, then scaled by d_w * d_x and
// accumulated in float lanes.
//
// The x86 paths reproduce llama.cpp's AVX2 kernel (which its AVX-512 builds run too, and whose order its batched
// tinyBLAS path shares) bit for bit: one block per step, ggml's eight lane sums in GgmlLanes' layout,
// acc = fma(d_w * d_x, lane sums, acc), one accumulator per dot product (GemvUnroll = 1). A faster AVX-512 form
// with two blocks per step agreed with llama.cpp's logits to 4e-6 on short prompts, but over 128-token perplexity
// chunks its last-bit differences moved re-quantized activations enough to put stories260K's perplexity 0.12%
// off llama-perplexity's (the bound is 0.1%); this form is within 0.05%. The AVX-512 path does the same 256-bit
// integer work with the float lanes in the lower half of a Vector512 (upper half zero), which Vector512.Sum adds
// last.

/// <summary>The integer work both x86 paths share, in <see cref="GgmlLanes"/>' layout.</summary>
internal static unsafe class Q8_0xQ8_0_X86
{
    public readonly record struct Block(Vector256<sbyte> Q, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block Load(byte* p)
    {
        var b = (BlockQ8_0*)p;
        return new(GgmlLanes.FromValueOrder(Vector256.Load(b->Qs)), Fp16.HalfBitsToSingle(b->D));
    }

    /// <summary>ggml's eight exact lane sums of q_w * q_x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LaneSums(in Block w, in Block x) => Vector256.ConvertToSingle(Int8Dot.SumQuadsSigned(w.Q, x.Q));
}

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx512, GemvUnroll = 1)]
internal static unsafe class Q8_0xQ8_0_Avx512
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadWeights(byte* w) => Q8_0xQ8_0_X86.Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadActivations(byte* x) => Q8_0xQ8_0_X86.Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Q8_0xQ8_0_X86.Block w, in Q8_0xQ8_0_X86.Block x, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.Create(w.D * x.D), Q8_0xQ8_0_X86.LaneSums(w, x).ToVector512(), acc);
}

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx2, GemvUnroll = 1)]
internal static unsafe class Q8_0xQ8_0_Avx2
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadWeights(byte* w) => Q8_0xQ8_0_X86.Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadActivations(byte* x) => Q8_0xQ8_0_X86.Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Q8_0xQ8_0_X86.Block w, in Q8_0xQ8_0_X86.Block x, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(w.D * x.D), Q8_0xQ8_0_X86.LaneSums(w, x), acc);
}

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Portable)]
internal static unsafe class Q8_0xQ8_0_Portable
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    public readonly record struct Block(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadWeights(byte* w) => Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadActivations(byte* x) => Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Block Load(byte* p)
    {
        var b = (BlockQ8_0*)p;
        return new(Vector128.Load(b->Qs), Vector128.Load(b->Qs + 16), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Block w, in Block x, Vector128<float> acc)
    {
        var sums = Int8Dot.Portable(w.Q0, x.Q0) + Int8Dot.Portable(w.Q1, x.Q1);
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(w.D * x.D), acc);
    }
}
