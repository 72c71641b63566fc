using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q8_0 weights x Q8_0 activations (ggml_vec_dot_q8_0_q8_0). Signed x signed bytes: vpmaddubsw needs an unsigned
// first operand, so the weights' absolute values meet the activations with the weights' signs applied; the
// 16-bit pair sums cannot saturate because |q| <= 127. Each block's integer sum is exact, then scaled by
// d_w * d_x and accumulated in float lanes.

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class Q8_0xQ8_0_Avx512
{
    /// <summary>Two blocks per 512-bit step: lanes 0-7 of the int32 sums are block 0, lanes 8-15 block 1.</summary>
    public const int ValuesPerStep = 2 * BlockQ8_0.BlockSize;

    public readonly record struct Blocks(Vector512<sbyte> Q, Vector512<float> D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Blocks LoadWeights(byte* w) => Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Blocks LoadActivations(byte* x) => Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Blocks Load(byte* p)
    {
        var b = (BlockQ8_0*)p;
        var q = Int8Dot.Join(Vector256.Load(b[0].Qs), Vector256.Load(b[1].Qs));
        return new(q, Int8Dot.TwoBlockScales(Fp16.HalfBitsToSingle(b[0].D), Fp16.HalfBitsToSingle(b[1].D)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Blocks w, in Blocks x, Vector512<float> acc)
    {
        var signedX = Vector512.ConditionalSelect(Vector512.LessThan(w.Q, Vector512<sbyte>.Zero), -x.Q, x.Q);
        var pairs = Avx512BW.MultiplyAddAdjacent(Vector512.Abs(w.Q).AsByte(), signedX);
        var sums = Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), w.D * x.D, acc);
    }
}

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx2)]
internal static unsafe class Q8_0xQ8_0_Avx2
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    public readonly record struct Block(Vector256<sbyte> Q, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadWeights(byte* w) => Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadActivations(byte* x) => Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Block Load(byte* p)
    {
        var b = (BlockQ8_0*)p;
        return new(Vector256.Load(b->Qs), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Block w, in Block x, Vector256<float> acc)
    {
        var sums = Int8Dot.SumQuadsSigned(w.Q, x.Q);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), Vector256.Create(w.D * x.D), acc);
    }
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
