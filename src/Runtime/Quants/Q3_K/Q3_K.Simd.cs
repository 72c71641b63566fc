using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q3_K weights x Q8_K activations (ggml_vec_dot_q3_K_q8_K), one 256-value super-block per step (its integer work
// hides FMA latency, so no unrolling). Each quant is read as L = low2 | high << 2 in 0..7 (q = L - 4), unsigned so
// vpmaddubsw takes it directly (int16 pair sums at most 2 * 7 * 127); vpmaddwd with the signed sub-block scale
// widens them to exact int32 lanes (per lane at most 8 * 2 * 1778 * 32, far below 2^31). The -4 is paid once per
// super-block from the activations' bsums: sum scale * (L - 4) * x = sum scale * L * x - 4 * sum scale * bsum.
// Then, as in llama.cpp, acc = fma(y.d * d, float(sumi), acc). On AVX2 the -4 is taken off each int16 pair sum
// instead, as llama.cpp does, so that every int32 lane holds what its lane does, and the lanes are stored in the
// order that makes the final sum its hsum_float_8 (KQuantSimd): its result bit for bit.
// The steps are plain pointers and MulAdd does all the work in a loop: see Q2_K.Simd.cs for why.

[KernelPrimitives(typeof(BlockQ3_K), typeof(BlockQ8_K), KernelIsa.Avx512)]
internal static unsafe class Q3_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ3_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(byte* w, byte* x, Vector512<float> acc)
    {
        var b = (BlockQ3_K*)w;
        var a = (BlockQ8_K*)x;
        var scales = Avx2.ConvertToVector256Int16(Q3_KScales.Decode(b->Scales));
        var table = scales.ToVector512Unsafe();
        var pick = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9);
        // Chunk j: the low-bit bytes (n = 0 in the lower half, n = 1 in the upper) shifted by 2j are values
        // [32j, 32j + 32) and [128 + 32j, 160 + 32j), sub-blocks 2j, 2j + 1, 8 + 2j, 9 + 2j; their high bits are bit
        // j of the mask (lower half) and of the mask >> 4 (upper half), brought to bit 2 by << 2 >> j (16-bit shifts
        // that never move a neighbouring byte's bit to bit 2 for j <= 3).
        var q = Vector512.Load(b->Qs);
        var hm = Vector256.Load(b->HMask);
        var high = Avx512F.InsertVector256(hm.ToVector512Unsafe(), Vector256.ShiftRightLogical(hm.AsUInt16(), 4).AsByte(), 1);
        high = Vector512.ShiftLeft(high.AsUInt16(), 2).AsByte();
        var sums = Vector512<int>.Zero;
        for (int j = 0; j < 4; j++)
        {
            var x2 = Avx512F.InsertVector256(Vector256.Load(a->Qs + 32 * j).ToVector512Unsafe(), Vector256.Load(a->Qs + 128 + 32 * j), 1);
            var l = (q & Vector512.Create((byte)3)) | (high & Vector512.Create((byte)4));
            sums += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(l, x2), Avx512BW.PermuteVar32x16(table, pick));
            q = Vector512.ShiftRightLogical(q.AsUInt16(), 2).AsByte();
            high = Vector512.ShiftRightLogical(high.AsUInt16(), 1).AsByte();
            pick += Vector512.Create((short)2);
        }
        sums -= Vector256.ShiftLeft(Avx2.MultiplyAddAdjacent(scales, Vector256.Load(a->BSums)), 2).ToVector512();
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), Vector512.Create(a->D * Fp16.HalfBitsToSingle(b->D)), acc);
    }
}

// Matrix-matrix tiles of 2 rows: with 4, the JIT reaches its 512 locals before it has inlined every MulAdd copy.
[KernelPrimitives(typeof(BlockQ3_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemmRows = 2)]
internal static unsafe class Q3_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ3_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(byte* w, byte* x, Vector256<float> acc)
    {
        var b = (BlockQ3_K*)w;
        var a = (BlockQ8_K*)x;
        var scales = Avx2.ConvertToVector256Int16(Q3_KScales.Decode(b->Scales));
        // Half n: low-bit bytes 32n.. shifted by 2j are values 128n + 32j .. + 32 (sub-block 8n + 2j in the lower
        // 128-bit lane, 8n + 2j + 1 in the upper), their high bits bit 4n + j of the mask. The int16 scales of the
        // half go to both 128-bit lanes for vpshufb.
        var halfScales = Avx2.Permute4x64(scales.AsUInt64(), 0b01_00_01_00).AsByte();
        var nextScales = Avx2.Permute4x64(scales.AsUInt64(), 0b11_10_11_10).AsByte();
        var hm = Vector256.Load(b->HMask).AsUInt16();
        var sums = Vector256<int>.Zero;
        for (int n = 0; n < 2; n++)
        {
            var q = Vector256.Load(b->Qs + 32 * n).AsUInt16();
            sbyte* xs = a->Qs + 128 * n;
            sums += (Scaled(q, Vector256.ShiftLeft(hm, 2), xs, halfScales, 0) + Scaled(Vector256.ShiftRightLogical(q, 2), Vector256.ShiftLeft(hm, 1), xs + 32, halfScales, 1))
                  + (Scaled(Vector256.ShiftRightLogical(q, 4), hm, xs + 64, halfScales, 2) + Scaled(Vector256.ShiftRightLogical(q, 6), Vector256.ShiftRightLogical(hm, 1), xs + 96, halfScales, 3));
            hm = Vector256.ShiftRightLogical(hm, 4);
            halfScales = nextScales;
        }
        return KQuantSimd.MulAddInLlamaOrder(sums, a->D * Fp16.HalfBitsToSingle(b->D), acc);
    }

    /// <summary>
    /// 32 quants q = (low bits 0-1) - (4 if the high bit (bit 2 of <paramref name="high"/>) is clear) (sub-blocks 2j
    /// and 2j + 1 of the half) times 32 activations, summed in int16 pairs as two vpmaddubsw, low bits minus the 4s
    /// (as llama.cpp does: the -4 lands in the same lanes as the products, so the int32 lanes are its), each pair
    /// times its sub-block scale: vpshufb picks int16 scale 2j in the lower 128-bit lane, 2j + 1 in the upper.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<ushort> low, Vector256<ushort> high, sbyte* x, Vector256<byte> halfScales, int j)
    {
        var four = Vector256.AndNot(Vector256.Create((byte)4), high.AsByte());
        ushort lo = (ushort)(((4 * j + 1) << 8) | (4 * j)), hi = (ushort)(((4 * j + 3) << 8) | (4 * j + 2));
        var scale = Avx2.Shuffle(halfScales, Vector256.Create(lo, lo, lo, lo, lo, lo, lo, lo, hi, hi, hi, hi, hi, hi, hi, hi).AsByte());
        var xs = Vector256.Load(x);
        var pairs = Avx2.MultiplyAddAdjacent(low.AsByte() & Vector256.Create((byte)3), xs) - Avx2.MultiplyAddAdjacent(four, xs);
        return Avx2.MultiplyAddAdjacent(pairs, scale.AsInt16());
    }
}

[KernelPrimitives(typeof(BlockQ3_K), typeof(BlockQ8_K), KernelIsa.Portable)]
internal static unsafe class Q3_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ3_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(byte* w, byte* x, Vector128<float> acc)
    {
        var b = (BlockQ3_K*)w;
        var a = (BlockQ8_K*)x;
        // Bytes [16g, 16g + 16) of qs (g = 2n + h) hold the low bits of sub-blocks s = 8n + h + 2j (j = 0..3),
        // values [16s, 16s + 16); their high bits are bit 4n + j of hmask[16h ..].
        var sumi = Vector128<int>.Zero;
        for (int g = 0; g < 4; g++)
        {
            int n = g >> 1;
            var q = Vector128.Load(b->Qs + 16 * g);
            var hm = Vector128.ShiftRightLogical(Vector128.Load(b->HMask + 16 * (g & 1)), 4 * n);
            for (int s = 8 * n + (g & 1); s < 8 * n + 8; s += 2)
            {
                var l = (q & Vector128.Create((byte)3)) | Vector128.ShiftLeft(hm & Vector128<byte>.One, 2);
                sumi += ScaledDot(l.AsSByte() - Vector128.Create((sbyte)4), a->Qs + 16 * s, BlockQ3_K.Scale(*b, s));
                q = Vector128.ShiftRightLogical(q, 2);
                hm = Vector128.ShiftRightLogical(hm, 1);
            }
        }
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sumi), Vector128.Create(a->D * Fp16.HalfBitsToSingle(b->D)), acc);
    }

    /// <summary>
    /// scale * (q . x) over 16 values in four exact int32 lanes. In int16: q is in -4..3 and Q8_K activations in
    /// -127..127, so a pair sum is at most 2 * 4 * 127 and, times a scale of at most 32, still fits before it is
    /// widened.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> ScaledDot(Vector128<sbyte> q, sbyte* x, int scale)
    {
        var xs = Vector128.Load(x);
        var p = (Vector128.WidenLower(q) * Vector128.WidenLower(xs) + Vector128.WidenUpper(q) * Vector128.WidenUpper(xs)) * (short)scale;
        return Vector128.WidenLower(p) + Vector128.WidenUpper(p);
    }
}

/// <summary>The sixteen 6-bit Q3_K scales, unpacked with AVX2 variable shifts (ggml's kmask arithmetic, four lanes at once).</summary>
file static unsafe class Q3_KScales
{
    /// <summary>
    /// 12 packed bytes to 16 signed scales (-32..31). Lane i of the uint view: low nibbles of bytes 0-3 (i = 0),
    /// 4-7 (1), high nibbles of bytes 0-3 (2), 4-7 (3); high bits from byte 8 + k at bit 2i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Decode(byte* scales)
    {
        var low = Avx2.ShiftRightLogicalVariable(Vector128.Create(*(ulong*)scales).AsUInt32(), Vector128.Create(0u, 0u, 4u, 4u))
                  & Vector128.Create(0x0F0F0F0Fu);
        var high = Avx2.ShiftRightLogicalVariable(Vector128.Create(*(uint*)(scales + 8)), Vector128.Create(0u, 2u, 4u, 6u))
                   & Vector128.Create(0x03030303u);
        return (low | (high << 4)).AsSByte() - Vector128.Create((sbyte)32);
    }
}
