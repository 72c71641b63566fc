using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// The float operations of llama.cpp's repacked Q4_K matrix-matrix product, which every Q4_K kernel here performs for
/// every token. On any AVX2 CPU llama.cpp 0.5.0 repacks a Q4_K matrix whose row count is a multiple of 8 into groups
/// of 8 rows (ggml_repack_get_optimal_repack_type: q4_K_8x8_q8_K) and multiplies it in ggml-cpu/arch/x86/repack.cpp.
/// Per output it keeps two float sums (<see cref="ScaleAndMinSums"/>) and returns acc - acc_min; what it adds into
/// them are exact integers: S, the quants times the activations times the 6-bit sub-block scale, and M, each
/// sub-block's min times the sum of its activations (the bsums). ggml_gemm_q4_K_8x8_q8_K, which takes the first
/// n - n % 4 tokens of a batch of n, does acc = fma(float(S), d_w * d_x, acc) and acc_min = fma(float(M), dmin_w *
/// d_x, acc_min) for each pair of sub-blocks (64 values), 4 of each per super-block.
/// <para>llama.cpp gives the last n % 4 tokens and a single token its gemv instead (one FMA per super-block), so its
/// result for a token depends on its place in the batch. Here every token takes the gemm's order: a token's outputs
/// are the same whatever shares its call (BatchInvarianceTests), prompt logits are llama.cpp's bit for bit but for its
/// last n % 4 tokens, and those and generated tokens differ from llama.cpp's in the last bits.</para>
/// </summary>
internal static class Q4_KRepackedOrder
{
    /// <summary>
    /// One super-block of a row times one of activations: S and M of each pair of sub-blocks (exact integers, summed
    /// by the primitive in its own way), and [d_w * d_x, dmin_w * d_x, 0, 0] (one float multiply each, as llama.cpp's
    /// col_scale * row_scale).
    /// </summary>
    public readonly unsafe struct SuperBlock(Vector128<int> s, Vector128<int> m, BlockQ4_K* w, BlockQ8_K* x)
    {
        public readonly Vector128<int> S = s;
        public readonly Vector128<int> M = m;
        public readonly Vector128<float> Scales = Scales(w, x);
    }

    /// <summary>[d_w * d_x, dmin_w * d_x, 0, 0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector128<float> Scales(BlockQ4_K* w, BlockQ8_K* x) =>
        Vector128.Create(Fp16.HalfBitsToSingle(w->D) * x->D, Fp16.HalfBitsToSingle(w->DMin) * x->D, 0, 0);

    /// <summary>ggml_gemm's super-block: one FMA each per pair of sub-blocks, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ScaleAndMinSums MulAdd(in SuperBlock b, ScaleAndMinSums acc)
    {
        // [S0, M0, S1, M1] and [S2, M2, S3, M3]; the zero lanes 2 and 3 of the scales keep the upper pair out of each FMA.
        Vector128<int> s = b.S, m = b.M;
        var low = Vector128.ConvertToSingle(Sse2.IsSupported ? Sse2.UnpackLow(s, m) : Vector128.Create(s[0], m[0], s[1], m[1]));
        var high = Vector128.ConvertToSingle(Sse2.IsSupported ? Sse2.UnpackHigh(s, m) : Vector128.Create(s[2], m[2], s[3], m[3]));
        var upper = Vector128.Create(2, 3, 2, 3);
        var sums = Vector128.FusedMultiplyAdd(low, b.Scales, acc.Sums);
        sums = Vector128.FusedMultiplyAdd(Vector128.Shuffle(low, upper), b.Scales, sums);
        sums = Vector128.FusedMultiplyAdd(high, b.Scales, sums);
        return new(Vector128.FusedMultiplyAdd(Vector128.Shuffle(high, upper), b.Scales, sums));
    }
}
