using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q6_K weights x Q8_K activations (ggml_vec_dot_q6_K_q8_K), one 256-value super-block per step. The 6-bit quants
// stay unsigned (0..63) so vpmaddubsw takes them directly (a pair sum is at most 2 * 63 * 128, no saturation),
// then vpmaddwd applies the int8 sub-block scales; the -32 offset is taken off as llama.cpp 0.5.0 takes it
// (q8sclsub): lane k loses 32 * (scale_2k * bsums_2k + scale_2k+1 * bsums_2k+1), sub-blocks whose values are not
// lane k's, so the lanes are llama.cpp's only this way. All integer sums are exact; one float FMA per lane and
// super-block with d = d_w * d_x (one float multiply), then hsum_float_8: llama.cpp's float operations on every path.
//
// Why the steps are plain pointers and MulAdd does all the work (for all three K-quants): an unpacked super-block
// is many vectors, and the JIT gives every inlined copy of LoadWeights/MulAdd in a tile its own temporaries; past
// 512 locals in a kernel it stops inlining (measured: the matrix-matrix kernels then called the primitives). So
// MulAdd unpacks inside a loop whose body is inlined once, and the activations are read as memory operands.

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemmRows = 2, GemmColumns = 4)]
internal static unsafe class Q6_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(byte* w, byte* x, Vector512<float> acc)
    {
        var b = (BlockQ6_K*)w;
        var a = (BlockQ8_K*)x;
        var table = Avx2.ConvertToVector256Int16(Vector128.Load(b->Scales)).ToVector512Unsafe();
        // Int16 pair lane i of 64 consecutive values covers sub-block i / 8 of them.
        var pick = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var nibble = Vector512.Create((byte)0x0F);
        var bits45 = Vector512.Create((byte)0x30);
        var sums = Vector512<int>.Zero;
        for (int n = 0; n < 2; n++)
        {
            // Half n: ql bytes 64n.. hold values 128n..128n+63 in their low nibbles and 128n+64..128n+127 in their
            // high nibbles; qh byte 32n+l holds the top 2 bits of values 128n+l+32i in bits 2i..2i+1. With qh in
            // both 256-bit halves, per-half shifts bring the right 2 bits to bits 4-5.
            var ql = Vector512.Load(b->Ql + 64 * n);
            var h = KQuantSimd.BothHalves(b->Qh + 32 * n);
            var low = (ql & nibble) | (Avx512BW.ShiftLeftLogicalVariable(h, KQuantSimd.Counts(4, 2)).AsByte() & bits45);
            var high = (Vector512.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & nibble) | (Avx512BW.ShiftRightLogicalVariable(h, KQuantSimd.Counts(0, 2)).AsByte() & bits45);
            sums += Scaled(low, a->Qs + 128 * n, Avx512BW.PermuteVar32x16(table, pick + Vector512.Create((short)(8 * n))))
                + Scaled(high, a->Qs + 128 * n + 64, Avx512BW.PermuteVar32x16(table, pick + Vector512.Create((short)(8 * n + 4))));
        }
        float d = Fp16.HalfBitsToSingle(b->D) * a->D;
        var offset = Q6_KxQ8_K_Avx2.Offset(table.GetLower(), a);
        return KQuantSimd.MulAddInLlamaOrder(sums - offset.ToVector512(), Vector128<int>.Zero, d, 0, acc);
    }

    /// <summary>64 quants (0..63) times 64 activations, summed in int16 pairs, each pair times its scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Scaled(Vector512<byte> q, sbyte* x, Vector512<short> scale) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q, Vector512.Load(x)), scale);
}

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemmRows = 2)]
internal static unsafe class Q6_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(byte* w, byte* x, Vector256<float> acc)
    {
        var b = (BlockQ6_K*)w;
        var a = (BlockQ8_K*)x;
        var scales = Avx2.ConvertToVector256Int16(Vector128.Load(b->Scales));
        var nibble = Vector256.Create((byte)0x0F);
        var bits45 = Vector256.Create((byte)0x30);
        var sums = Vector256<int>.Zero;
        for (int n = 0; n < 2; n++)
        {
            // Half n (values 128n..128n+127): ql 64 bytes, qh 32 bytes, scales 8n..8n+7 in both 128-bit lanes.
            var l0 = Vector256.Load(b->Ql + 64 * n);
            var l1 = Vector256.Load(b->Ql + 64 * n + 32);
            var h = Vector256.Load(b->Qh + 32 * n).AsUInt16();
            var halfScales = n == 0 ? Avx2.Permute2x128(scales, scales, 0x00) : Avx2.Permute2x128(scales, scales, 0x11);
            sbyte* xs = a->Qs + 128 * n;
            sums += Scaled((l0 & nibble) | (Vector256.ShiftLeft(h, 4).AsByte() & bits45), xs, halfScales, 0)
                + Scaled((l1 & nibble) | (Vector256.ShiftLeft(h, 2).AsByte() & bits45), xs + 32, halfScales, 1)
                + Scaled((Vector256.ShiftRightLogical(l0.AsUInt16(), 4).AsByte() & nibble) | (h.AsByte() & bits45), xs + 64, halfScales, 2)
                + Scaled((Vector256.ShiftRightLogical(l1.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftRightLogical(h, 2).AsByte() & bits45), xs + 96, halfScales, 3);
        }
        float d = Fp16.HalfBitsToSingle(b->D) * a->D;
        return KQuantSimd.MulAddInLlamaOrder(sums - Offset(scales, a), d, acc);
    }

    /// <summary>
    /// The -32 offset of each of llama.cpp's 8 lanes, 32 * (scale_2k * bsums_2k + scale_2k+1 * bsums_2k+1): one
    /// vpmaddwd of the 16 bsums with the 16 scales (as int16), shifted left by 5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Offset(Vector256<short> scales, BlockQ8_K* a) =>
        Avx2.MultiplyAddAdjacent(Vector256.Load(a->BSums), scales) << 5;

    /// <summary>
    /// 32 quants (0..63; sub-blocks 2i and 2i + 1 of the half) times 32 activations, summed in int16 pairs, each pair
    /// times its sub-block scale: vpshufb picks int16 scale 2i in the low 128-bit lane, 2i + 1 in the high.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<byte> q, sbyte* x, Vector256<short> halfScales, int i)
    {
        ulong low = (ulong)(4 * i | (4 * i + 1) << 8) * 0x0001_0001_0001_0001, high = low + 0x0202_0202_0202_0202;
        var scale = Avx2.Shuffle(halfScales.AsByte(), Vector256.Create(low, low, high, high).AsByte()).AsInt16();
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(x)), scale);
    }
}

// Matrix-matrix tiles of 2 rows: with 4, the JIT runs out of locals before it has inlined every MulAdd copy.
// llama.cpp's 8 lanes in two 128-bit halves (Lanes8x128), so this path gives its x86 floats too.
[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Portable, GemmRows = 2)]
internal static unsafe class Q6_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    /// <summary>Bytes 0, 4, 8, 12, then 1, 5, 9, 13, ...: value 4k + j of 16 moves to j * 4 + k.</summary>
    private static readonly Vector128<byte> ByLane = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8x128 MulAdd(byte* w, byte* x, Lanes8x128 acc)
    {
        var b = (BlockQ6_K*)w;
        var a = (BlockQ8_K*)x;
        var nibble = Vector128.Create((byte)0x0F);
        var three = Vector128.Create((byte)3);
        Vector128<int> low = Vector128<int>.Zero, high = Vector128<int>.Zero; // llama.cpp's lanes 0..3 and 4..7
        for (int n = 0; n < 2; n++)
        {
            for (int i = 0; i < 4; i++)
            {
                // Values 128n + 32i + 16c + 0..15 (c = 0, 1): sub-block 8n + 2i + c, lanes 4c..4c+3.
                sbyte* xs = a->Qs + 128 * n + 32 * i;
                sbyte* sc = b->Scales + 8 * n + 2 * i;
                for (int c = 0; c < 2; c++)
                {
                    var ql = Vector128.Load(b->Ql + 64 * n + 32 * (i & 1) + 16 * c);
                    var qh = Vector128.Load(b->Qh + 32 * n + 16 * c);
                    var q = (i < 2 ? ql & nibble : Vector128.ShiftRightLogical(ql, 4)) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2 * i) & three, 4);
                    var lanes = Lanes(q, Vector128.Load(xs + 16 * c)) * sc[c];
                    if (c == 0)
                        low += lanes;
                    else
                        high += lanes;
                }
            }
        }
        // The -32 offset of lane k: 32 * (scale_2k * bsums_2k + scale_2k+1 * bsums_2k+1).
        short* s = a->BSums;
        sbyte* scales = b->Scales;
        int Offset(int k) => 32 * (scales[2 * k] * s[2 * k] + scales[2 * k + 1] * s[2 * k + 1]);
        low -= Vector128.Create(Offset(0), Offset(1), Offset(2), Offset(3));
        high -= Vector128.Create(Offset(4), Offset(5), Offset(6), Offset(7));
        var d = Vector128.Create(Fp16.HalfBitsToSingle(b->D) * a->D);
        return Lanes8x128.MulAdd(d, d, Vector128.ConvertToSingle(low), Vector128.ConvertToSingle(high), acc);
    }

    /// <summary>
    /// 16 quants (0..63) times 16 activations, lane k the sum of values 4k..4k+3: both regrouped by lane first, so
    /// the four products of a lane meet in one int16 and one int32 addition (a product is at most 63 * 128).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Lanes(Vector128<byte> q, Vector128<sbyte> x)
    {
        var qv = Vector128.Shuffle(q, ByLane).AsSByte();
        var xv = Vector128.Shuffle(x.AsByte(), ByLane).AsSByte();
        var p = Vector128.WidenLower(qv) * Vector128.WidenLower(xv) + Vector128.WidenUpper(qv) * Vector128.WidenUpper(xv);
        return Vector128.WidenLower(p) + Vector128.WidenUpper(p);
    }
}
