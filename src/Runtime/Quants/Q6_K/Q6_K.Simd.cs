using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q6_K weights x Q8_K activations (ggml_vec_dot_q6_K_q8_K), one 256-value super-block per step. The 6-bit quants
// stay unsigned (0..63) so vpmaddubsw takes them directly (a pair sum is at most 2 * 63 * 127, no saturation);
// vpmaddwd then applies the int8 sub-block scales. The -32 offset is applied once per super-block through the
// activations' bsums (16 sums of 16 quants, one per Q6_K sub-block): sum sc * (q - 32) * x =
// sum sc * q * x - 32 * sum_s sc[s] * bsums[s]. All integer sums are exact; one float FMA per super-block with
// d = d_w * d_x (one float multiply), as ggml does.

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemvUnroll = 1)]
internal static unsafe class Q6_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    /// <summary>
    /// One unpacked super-block: Q0..Q3 = quants 0..63 of values 64j .. 64j + 63; S0..S3 = the sub-block scale of
    /// each int16 pair lane of Qj; Scales = the 16 scales as int16 (for the offset term).
    /// </summary>
    public readonly record struct Weights(
        Vector512<byte> Q0, Vector512<byte> Q1, Vector512<byte> Q2, Vector512<byte> Q3,
        Vector512<short> S0, Vector512<short> S1, Vector512<short> S2, Vector512<short> S3,
        Vector256<short> Scales, float D);

    public readonly record struct Activations(
        Vector512<sbyte> Q0, Vector512<sbyte> Q1, Vector512<sbyte> Q2, Vector512<sbyte> Q3, Vector256<short> BSums, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ6_K*)w;
        // Half n: ql bytes 64n..64n+63 hold values 128n..128n+63 in their low nibbles and 128n+64..128n+127 in
        // their high nibbles; qh byte 32n+l holds the top 2 bits of values 128n+l+32i in bits 2i..2i+1. With qh
        // broadcast to both 256-bit halves, per-half shifts bring the right 2 bits to bits 4-5.
        var (q0, q1) = Half(Vector512.Load(b->Ql), BothHalves(Vector256.Load(b->Qh)));
        var (q2, q3) = Half(Vector512.Load(b->Ql + 64), BothHalves(Vector256.Load(b->Qh + 32)));

        var scales = Avx2.ConvertToVector256Int16(Vector128.Load(b->Scales));
        var table = scales.ToVector512Unsafe();
        // Int16 lane i of Qj's pair sums covers values 64j + 2i, +1: sub-block 4j + i / 8.
        var lane = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        var four = Vector512.Create((short)4);
        var s0 = Avx512BW.PermuteVar32x16(table, lane);
        var s1 = Avx512BW.PermuteVar32x16(table, lane + four);
        var s2 = Avx512BW.PermuteVar32x16(table, lane + four + four);
        var s3 = Avx512BW.PermuteVar32x16(table, lane + four + four + four);
        return new(q0, q1, q2, q3, s0, s1, s2, s3, scales, Fp16.HalfBitsToSingle(b->D));
    }

    /// <summary>
    /// v in both 256-bit halves (vinserti32x8). Not Avx512F.BroadcastVector256ToVector512: .NET 10.0.12 encodes its
    /// memory form with a wrong compressed displacement (it reads the wrong address when the offset is nonzero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ushort> BothHalves(Vector256<byte> v) => Avx512F.InsertVector256(v.ToVector512Unsafe(), v, 1).AsUInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<byte> Low, Vector512<byte> High) Half(Vector512<byte> ql, Vector512<ushort> qh)
    {
        var bits45 = Vector512.Create((byte)0x30);
        var nibble = Vector512.Create((byte)0x0F);
        // Values 0..31 take qh bits 0-1 (<< 4), values 32..63 bits 2-3 (<< 2).
        var hiLow = Avx512BW.ShiftLeftLogicalVariable(qh, Vector512.Create(4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, (ushort)2)).AsByte() & bits45;
        // Values 64..95 take qh bits 4-5 (in place), values 96..127 bits 6-7 (>> 2).
        var hiHigh = Avx512BW.ShiftRightLogicalVariable(qh, Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, (ushort)2)).AsByte() & bits45;
        var low = (ql & nibble) | hiLow;
        var high = (Vector512.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & nibble) | hiHigh;
        return (low, high);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        return new(Vector512.Load(b->Qs), Vector512.Load(b->Qs + 64), Vector512.Load(b->Qs + 128), Vector512.Load(b->Qs + 192),
            Vector256.Load(b->BSums), b->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var sums = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w.Q0, x.Q0), w.S0)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w.Q1, x.Q1), w.S1)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w.Q2, x.Q2), w.S2)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(w.Q3, x.Q3), w.S3);
        // The -32 offset: 32 * sum_s scale[s] * bsums[s], in lanes 0..7.
        var offset = Vector256.ShiftLeft(Avx2.MultiplyAddAdjacent(w.Scales, x.BSums), 5);
        sums -= offset.ToVector512();
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), Vector512.Create(w.D * x.D), acc);
    }
}

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemvUnroll = 1)]
internal static unsafe class Q6_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    /// <summary>
    /// The block itself: with 16 registers a whole unpacked super-block does not fit beside the accumulators, so
    /// <see cref="MulAdd"/> unpacks 32 values at a time and reads the activations straight from memory.
    /// </summary>
    public readonly record struct Block(nint P, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadWeights(byte* w) => new((nint)w, Fp16.HalfBitsToSingle(((BlockQ6_K*)w)->D));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadActivations(byte* x) => new((nint)x, ((BlockQ8_K*)x)->D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Block w, in Block x, Vector256<float> acc)
    {
        var b = (BlockQ6_K*)w.P;
        var a = (BlockQ8_K*)x.P;
        var scales = Vector128.Load(b->Scales);
        var sums = Half(b->Ql, b->Qh, scales, a->Qs, 0) + Half(b->Ql + 64, b->Qh + 32, scales, a->Qs + 128, 8);
        // The -32 offset: 32 * sum_s scale[s] * bsums[s].
        sums -= Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(scales), Vector256.Load(a->BSums)), 5);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), Vector256.Create(w.D * x.D), acc);
    }

    /// <summary>Sum of scale * q * x over the 128 values of one half (ql 64 bytes, qh 32 bytes, sub-blocks s0..s0+7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Half(byte* ql, byte* qh, Vector128<sbyte> scales, sbyte* x, int s0)
    {
        var nibble = Vector256.Create((byte)0x0F);
        var bits45 = Vector256.Create((byte)0x30);
        var l0 = Vector256.Load(ql);
        var l1 = Vector256.Load(ql + 32);
        var h = Vector256.Load(qh).AsUInt16();
        var q0 = (l0 & nibble) | (Vector256.ShiftLeft(h, 4).AsByte() & bits45);
        var q1 = (l1 & nibble) | (Vector256.ShiftLeft(h, 2).AsByte() & bits45);
        var q2 = (Vector256.ShiftRightLogical(l0.AsUInt16(), 4).AsByte() & nibble) | (h.AsByte() & bits45);
        var q3 = (Vector256.ShiftRightLogical(l1.AsUInt16(), 4).AsByte() & nibble) | (Vector256.ShiftRightLogical(h, 2).AsByte() & bits45);
        return Scaled(q0, x, scales, s0) + Scaled(q1, x + 32, scales, s0 + 2)
            + Scaled(q2, x + 64, scales, s0 + 4) + Scaled(q3, x + 96, scales, s0 + 6);
    }

    /// <summary>32 quants (sub-blocks s and s + 1) times 32 activations, each pair sum times its sub-block scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<byte> q, sbyte* x, Vector128<sbyte> scales, int s)
    {
        var pairs = Avx2.MultiplyAddAdjacent(q, Vector256.Load(x));
        var pick = Vector128.Create((byte)s, (byte)s, (byte)s, (byte)s, (byte)s, (byte)s, (byte)s, (byte)s,
            (byte)(s + 1), (byte)(s + 1), (byte)(s + 1), (byte)(s + 1), (byte)(s + 1), (byte)(s + 1), (byte)(s + 1), (byte)(s + 1));
        var scale = Avx2.ConvertToVector256Int16(Ssse3.Shuffle(scales, pick.AsSByte()));
        return Avx2.MultiplyAddAdjacent(pairs, scale);
    }
}

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Portable, GemvUnroll = 1)]
internal static unsafe class Q6_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    /// <summary>The block itself; <see cref="MulAdd"/> unpacks 16 values of each of 4 sub-blocks at a time.</summary>
    public readonly record struct Block(nint P, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadWeights(byte* w) => new((nint)w, Fp16.HalfBitsToSingle(((BlockQ6_K*)w)->D));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadActivations(byte* x) => new((nint)x, ((BlockQ8_K*)x)->D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Block w, in Block x, Vector128<float> acc)
    {
        var b = (BlockQ6_K*)w.P;
        var a = (BlockQ8_K*)x.P;
        var sums = Quarter(b, a, 0, 0) + Quarter(b, a, 0, 1) + Quarter(b, a, 1, 0) + Quarter(b, a, 1, 1);
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(w.D * x.D), acc);
    }

    /// <summary>
    /// Values 128n + 16c + 32i + 0..15 for i = 0..3 (sub-blocks 8n + c + 2i): 16 bytes of ql and 16 of qh give
    /// four sub-blocks of signed q - 32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Quarter(BlockQ6_K* b, BlockQ8_K* a, int n, int c)
    {
        var nibble = Vector128.Create((byte)0x0F);
        var bits45 = Vector128.Create((byte)0x30);
        var thirtyTwo = Vector128.Create((sbyte)32);
        var l0 = Vector128.Load(b->Ql + 64 * n + 16 * c);
        var l1 = Vector128.Load(b->Ql + 64 * n + 32 + 16 * c);
        var h = Vector128.Load(b->Qh + 32 * n + 16 * c);
        var q0 = ((l0 & nibble) | (Vector128.ShiftLeft(h, 4) & bits45)).AsSByte() - thirtyTwo;
        var q1 = ((l1 & nibble) | (Vector128.ShiftLeft(h, 2) & bits45)).AsSByte() - thirtyTwo;
        var q2 = (Vector128.ShiftRightLogical(l0, 4) | (h & bits45)).AsSByte() - thirtyTwo;
        var q3 = (Vector128.ShiftRightLogical(l1, 4) | (Vector128.ShiftRightLogical(h, 2) & bits45)).AsSByte() - thirtyTwo;
        sbyte* x = a->Qs + 128 * n + 16 * c;
        sbyte* sc = b->Scales + 8 * n + c;
        return Int8Dot.Portable(q0, Vector128.Load(x)) * sc[0] + Int8Dot.Portable(q1, Vector128.Load(x + 32)) * sc[2]
            + Int8Dot.Portable(q2, Vector128.Load(x + 64)) * sc[4] + Int8Dot.Portable(q3, Vector128.Load(x + 96)) * sc[6];
    }
}
