using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q4_1 weights x Q8_1 activations (ggml_vec_dot_q4_1_q8_1): per block the exact integer sum of nibble * q_x is
// scaled by d_w * d_x, and the offset term m_w * s_x (s_x = d_x * sum(q_x), precomputed in the activations) is
// added.
//
// The x86 paths follow llama.cpp's AVX2 kernel (which its AVX-512 builds run too): one block per step, ggml's eight
// lane sums in GgmlLanes' layout, acc = fma(d_w * d_x, lane sums, acc), one accumulator per dot product,
// and the offset terms summed apart (summs = fma(m_w, s_x, summs)) and added last. On AVX-512 the
// lanes sit in the lower half of a Vector512 and summs in lane 8, which Vector512.Sum adds after the lower half:
// that reproduces llama.cpp's result bit for bit. Matching its rounding exactly matters: activations are
// re-quantized after every product, and a last-bit difference that moves one of them across a rounding boundary
// moved stories260K logits by up to 0.18. AVX2 has no spare lane for summs: there it is a float beside the lanes
// (LanesAndSumms), added after them as llama.cpp adds it.

/// <summary>The integer work both x86 paths share, in <see cref="GgmlLanes"/>' layout.</summary>
internal static unsafe class Q4_1xQ8_1_X86
{
    /// <summary>The 32 nibbles (0..15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> WeightQuants(BlockQ4_1* b) => GgmlLanes.Nibbles(Vector128.Load(b->Qs));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> ActivationQuants(BlockQ8_1* b) => GgmlLanes.FromValueOrder(Vector256.Load(b->Qs));

    /// <summary>ggml's eight exact lane sums of q_w * q_x (q_w unsigned, so vpmaddubsw takes it as it is).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LaneSums(Vector256<byte> w, Vector256<sbyte> x) =>
        Vector256.ConvertToSingle(Int8Dot.SumQuads(w, x));
}

[KernelPrimitives(typeof(BlockQ4_1), typeof(BlockQ8_1), KernelIsa.Avx512)]
internal static unsafe class Q4_1xQ8_1_Avx512
{
    public const int ValuesPerStep = BlockQ4_1.BlockSize;

    /// <summary>DM: d in lanes 0-7, m in lane 8, zero elsewhere.</summary>
    public readonly record struct Weights(Vector256<byte> Q, Vector512<float> DM);

    /// <summary>DOne: d in lanes 0-7, 1 in lane 8, zero elsewhere; S: s in lane 0, zero elsewhere.</summary>
    public readonly record struct Activations(Vector256<sbyte> Q, Vector512<float> DOne, Vector256<float> S);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ4_1*)w;
        var dm = Int8Dot.Join(Vector256.Create(Fp16.HalfBitsToSingle(b->D)), Vector256.CreateScalar(Fp16.HalfBitsToSingle(b->M)));
        return new(Q4_1xQ8_1_X86.WeightQuants(b), dm);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_1*)x;
        var dOne = Int8Dot.Join(Vector256.Create(Fp16.HalfBitsToSingle(b->D)), Vector256.CreateScalar(1f));
        return new(Q4_1xQ8_1_X86.ActivationQuants(b), dOne, Vector256.CreateScalar(Fp16.HalfBitsToSingle(b->S)));
    }

    /// <summary>Lanes 0-7: fma(d_w * d_x, lane sums, acc) as ggml's vector accumulator; lane 8: fma(m_w, s_x, acc) as its summs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(w.DM * x.DOne, Vector512.Create(Q4_1xQ8_1_X86.LaneSums(w.Q, x.Q), x.S), acc);
}

[KernelPrimitives(typeof(BlockQ4_1), typeof(BlockQ8_1), KernelIsa.Avx2)]
internal static unsafe class Q4_1xQ8_1_Avx2
{
    public const int ValuesPerStep = BlockQ4_1.BlockSize;

    public readonly record struct Weights(Vector256<byte> Q, float D, float M);

    public readonly record struct Activations(Vector256<sbyte> Q, float D, float S);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ4_1*)w;
        return new(Q4_1xQ8_1_X86.WeightQuants(b), Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->M));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_1*)x;
        return new(Q4_1xQ8_1_X86.ActivationQuants(b), Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->S));
    }

    /// <summary>Lanes: fma(d_w * d_x, lane sums, acc) as on AVX-512; summs: fma(m_w, s_x, summs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesAndSumms MulAdd(in Weights w, in Activations x, LanesAndSumms acc) => new(
        Vector256.FusedMultiplyAdd(Vector256.Create(w.D * x.D), Q4_1xQ8_1_X86.LaneSums(w.Q, x.Q), acc.Lanes),
        MathF.FusedMultiplyAdd(w.M, x.S, acc.Summs));
}

[KernelPrimitives(typeof(BlockQ4_1), typeof(BlockQ8_1), KernelIsa.Portable)]
internal static unsafe class Q4_1xQ8_1_Portable
{
    public const int ValuesPerStep = BlockQ4_1.BlockSize;

    /// <summary>Lo: values 0..15, Hi: values 16..31, as non-negative bytes.</summary>
    public readonly record struct Weights(Vector128<sbyte> Lo, Vector128<sbyte> Hi, float D, float M);

    /// <summary>S: s in lane 0, zero elsewhere.</summary>
    public readonly record struct Activations(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D, Vector128<float> S);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ4_1*)w;
        var packed = Vector128.Load(b->Qs);
        var lo = (packed & Vector128.Create((byte)0x0F)).AsSByte();
        var hi = Vector128.ShiftRightLogical(packed, 4).AsSByte();
        return new(lo, hi, Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->M));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_1*)x;
        return new(Vector128.Load(b->Qs), Vector128.Load(b->Qs + 16), Fp16.HalfBitsToSingle(b->D), Vector128.CreateScalar(Fp16.HalfBitsToSingle(b->S)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Weights w, in Activations x, Vector128<float> acc)
    {
        var sums = Int8Dot.Portable(w.Lo, x.Q0) + Int8Dot.Portable(w.Hi, x.Q1);
        acc = Vector128.MultiplyAddEstimate(Vector128.Create(w.M), x.S, acc);
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(w.D * x.D), acc);
    }
}
