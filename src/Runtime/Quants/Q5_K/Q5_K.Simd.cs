using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q5_K weights x Q8_K activations (ggml_vec_dot_q5_K_q8_K): Q4_K's computation (same scales, mins and value
// order, helpers shared from Q4_K.Simd.cs) with each nibble's fifth bit from qh added as 16 before the products
// (a pair sum is at most 2 * 31 * 127, no saturation).

// Matrix-matrix tiles of 2 rows: with 4, the JIT runs out of locals before it has inlined every MulAdd copy.
[KernelPrimitives(typeof(BlockQ5_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemmRows = 2)]
internal static unsafe class Q5_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ5_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(byte* w, byte* x, Vector512<float> acc)
    {
        var b = (BlockQ5_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var table = Avx2.ConvertToVector256Int16(scalesAndMins).ToVector512Unsafe(); // int16: scales 0..7, mins 0..7
        // qh in both 256-bit halves, shifted right by 2 per chunk: chunk c's fifth bits (bits 2c and 2c + 1 of qh)
        // are then bit 0 (low half, low nibbles) and bit 1 (high half, high nibbles), moved to bit 4.
        var h = KQuantSimd.BothHalves(b->Qh);
        var sums = Vector512<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            var fifth = Avx512BW.ShiftLeftLogicalVariable(h, KQuantSimd.Counts(4, 3)).AsByte() & Vector512.Create((byte)0x10);
            sums += Q4_KxQ8_K_Avx512.Chunk(Q4_KxQ8_K_Avx512.Nibbles(b->Qs + 32 * c) | fifth, a->Qs + 64 * c, table, c);
            h = Vector512.ShiftRightLogical(h, 2);
        }
        // llama.cpp keeps Q5_K's min term as one float (summs), not in 4 lanes: their integer sum in one lane.
        var minSum = Vector128.CreateScalar(Vector128.Sum(KQuantSimd.MinLanes(scalesAndMins, a)));
        return KQuantSimd.MulAddInLlamaOrder(sums, minSum, Fp16.HalfBitsToSingle(b->D) * a->D, -(Fp16.HalfBitsToSingle(b->DMin) * a->D), acc);
    }
}

[KernelPrimitives(typeof(BlockQ5_K), typeof(BlockQ8_K), KernelIsa.Avx2)]
internal static unsafe class Q5_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ5_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LanesAndSumms MulAdd(byte* w, byte* x, LanesAndSumms acc)
    {
        var b = (BlockQ5_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var scales = Q4_KxQ8_K_Avx2.Scales(scalesAndMins);
        var nibble = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        // qh shifted right by 2 per chunk: chunk c's fifth bits are then bits 0 (low nibbles) and 1 (high nibbles).
        var h = Vector256.Load(b->Qh).AsUInt16();
        var sums = Vector256<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            var q = Vector256.Load(b->Qs + 32 * c);
            var lo = (q & nibble) | (Vector256.ShiftLeft(h, 4).AsByte() & bit4);
            var hi = (Vector256.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftLeft(h, 3).AsByte() & bit4);
            sums += Q4_KxQ8_K_Avx2.Chunk(lo, hi, a->Qs + 64 * c, scales, c);
            h = Vector256.ShiftRightLogical(h, 2);
        }
        // llama.cpp: summs = fma(dmin, float(sum of the min lanes), summs) beside acc = fma(d, float(lanes), acc). The
        // lanes are summed as floats, which stays in vector registers: each is below 2^19 and their sum below 2^21,
        // so every float in it is an exact integer and the sum is the integer one.
        float dmin = -(Fp16.HalfBitsToSingle(b->DMin) * a->D);
        float summs = MathF.FusedMultiplyAdd(dmin, Vector128.Sum(Vector128.ConvertToSingle(KQuantSimd.MinLanes(scalesAndMins, a))), acc.Summs);
        return new(KQuantSimd.MulAddInLlamaOrder(sums, Fp16.HalfBitsToSingle(b->D) * a->D, acc.Lanes), summs);
    }
}

// Matrix-matrix tiles of 2 rows: with 4, the JIT runs out of locals before it has inlined every MulAdd copy.
[KernelPrimitives(typeof(BlockQ5_K), typeof(BlockQ8_K), KernelIsa.Portable, GemmRows = 2)]
internal static unsafe class Q5_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ5_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(byte* w, byte* x, Vector128<float> acc)
    {
        var b = (BlockQ5_K*)w;
        var a = (BlockQ8_K*)x;
        var scalesAndMins = KQuantScaleMin.Unpack(b->Scales);
        var nibble = Vector128.Create((byte)0x0F);
        var bit4 = Vector128.Create((byte)0x10);
        // qh shifted right by 2 per chunk: chunk c's fifth bits are then bits 0 (low nibbles) and 1 (high nibbles).
        var h0 = Vector128.Load(b->Qh);
        var h1 = Vector128.Load(b->Qh + 16);
        var sums = Vector128<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            var q0 = Vector128.Load(b->Qs + 32 * c);
            var q1 = Vector128.Load(b->Qs + 32 * c + 16);
            var lo = Q4_KxQ8_K_Portable.Dot32((q0 & nibble) | (Vector128.ShiftLeft(h0, 4) & bit4), (q1 & nibble) | (Vector128.ShiftLeft(h1, 4) & bit4), a->Qs + 64 * c);
            var hi = Q4_KxQ8_K_Portable.Dot32(Vector128.ShiftRightLogical(q0, 4) | (Vector128.ShiftLeft(h0, 3) & bit4),
                Vector128.ShiftRightLogical(q1, 4) | (Vector128.ShiftLeft(h1, 3) & bit4), a->Qs + 64 * c + 32);
            sums += lo * scalesAndMins.GetElement(2 * c) + hi * scalesAndMins.GetElement(2 * c + 1);
            h0 = Vector128.ShiftRightLogical(h0, 2);
            h1 = Vector128.ShiftRightLogical(h1, 2);
        }
        return Q4_KxQ8_K_Portable.Combine(sums, scalesAndMins, b->D, b->DMin, a, acc);
    }
}
