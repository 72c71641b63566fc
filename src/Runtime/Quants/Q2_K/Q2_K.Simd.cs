using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q2_K weights x Q8_K activations (ggml_vec_dot_q2_K_q8_K). One step is one 256-value super-block. The 2-bit quants
// stay unsigned (0..3) so vpmaddubsw takes them directly: its int16 pair sums (<= 2 * 3 * 128) stay within one
// 16-value sub-block, and vpmaddwd with the sub-block's 4-bit scale widens them to exact int32 lanes. The mins meet
// the activations' bsums (sums of 16) in one vpmaddwd. Per super-block, as in llama.cpp:
// acc = fma(-y.d * dmin, float(mins . bsums), acc), then acc = fma(y.d * d, float(sumi), acc).
// The integer sums per lane stay far below 2^31 (8 chunks of at most 2 * 768 * 15).

[KernelPrimitives(typeof(BlockQ2_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemvRows = 4, GemvUnroll = 1, GemmRows = 4, GemmColumns = 2)]
internal static unsafe class Q2_KxQ8_K_Avx512
{
    /// <summary>One super-block per step: its integer work is long enough to hide FMA latency without unrolling.</summary>
    public const int ValuesPerStep = BlockQ2_K.BlockSize;

    /// <summary>
    /// Q: the 64 quant bytes, n = 0 in the lower half and n = 1 in the upper (so Q &gt;&gt; 2j holds chunk j of
    /// both halves); Scales: the 16 scales as int16 (lanes 0-15, the table vpermw reads); Mins: the 16 mins as int16.
    /// </summary>
    public readonly record struct Weights(Vector512<byte> Q, Vector512<short> Scales, Vector256<short> Mins, float D, float DMin);

    /// <summary>
    /// Q0..Q3: chunk j = values [32j, 32j + 32) then [128 + 32j, 160 + 32j), the order of Weights.Q &gt;&gt; 2j,
    /// regrouped once per step and shared by every row; BSums: the 16 sums of 16.
    /// </summary>
    public readonly record struct Activations(Vector512<sbyte> Q0, Vector512<sbyte> Q1, Vector512<sbyte> Q2, Vector512<sbyte> Q3, Vector256<short> BSums, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ2_K*)w;
        var packed = Vector128.Load(b->Scales);
        var scales = Avx2.ConvertToVector256Int16(packed & Vector128.Create((byte)0x0F)).ToVector512Unsafe();
        var mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(packed, 4));
        return new(Vector512.Load(b->Qs), scales, mins, Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->DMin));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        return new(Regroup(b->Qs, 0), Regroup(b->Qs, 1), Regroup(b->Qs, 2), Regroup(b->Qs, 3), Vector256.Load(b->BSums), b->D);
    }

    /// <summary>Activation chunk j in the order of the weights' chunk j: values [32j, 32j + 32), then 128 later.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Regroup(sbyte* q, int j) =>
        Avx512F.InsertVector256(Vector256.Load(q + 32 * j).ToVector512Unsafe(), Vector256.Load(q + 128 + 32 * j), 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var mins = Avx2.MultiplyAddAdjacent(w.Mins, x.BSums);
        acc = Vector512.FusedMultiplyAdd(Vector256.ConvertToSingle(mins).ToVector512(), Vector512.Create(-x.D * w.DMin), acc);
        var sumi = (Chunk(w, x.Q0, 0) + Chunk(w, x.Q1, 1)) + (Chunk(w, x.Q2, 2) + Chunk(w, x.Q3, 3));
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi), Vector512.Create(x.D * w.D), acc);
    }

#pragma warning disable CA1857 // shift counts derived from a constant argument are constants once the method is inlined
    /// <summary>Scale-weighted int32 sums of chunk j (sub-blocks 2j, 2j + 1, 8 + 2j, 9 + 2j, eight lanes each pair).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunk(in Weights w, Vector512<sbyte> x, [ConstantExpected(Min = 0, Max = 3)] byte j)
    {
        var q = Avx512BW.ShiftRightLogical(w.Q.AsUInt16(), (byte)(2 * j)).AsByte() & Vector512.Create((byte)3);
        var pairs = Avx512BW.MultiplyAddAdjacent(q, x);
        return Avx512BW.MultiplyAddAdjacent(pairs, Avx512BW.PermuteVar32x16(w.Scales, ScaleIndex(j)));
    }
#pragma warning restore CA1857

    /// <summary>vpermw indices spreading the scales of chunk j over its four groups of eight int16 pair sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScaleIndex(int j)
    {
        short a = (short)(2 * j), b = (short)(2 * j + 1), c = (short)(8 + 2 * j), d = (short)(9 + 2 * j);
        return Vector512.Create(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b, c, c, c, c, c, c, c, c, d, d, d, d, d, d, d, d);
    }
}

[KernelPrimitives(typeof(BlockQ2_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemvRows = 4, GemvUnroll = 1, GemmRows = 2, GemmColumns = 2)]
internal static unsafe class Q2_KxQ8_K_Avx2
{
    /// <summary>One super-block per step. Sixteen ymm registers: the activations stay in memory (vpmaddubsw reads them).</summary>
    public const int ValuesPerStep = BlockQ2_K.BlockSize;

    /// <summary>Q0, Q1: quant bytes of n = 0 and 1; Scales: the 16 scales as bytes, repeated in both 128-bit lanes.</summary>
    public readonly record struct Weights(Vector256<byte> Q0, Vector256<byte> Q1, Vector256<byte> Scales, Vector256<short> Mins, float D, float DMin);

    public readonly struct Activations(sbyte* q, Vector256<short> bsums, float d)
    {
        public readonly sbyte* Q = q;
        public readonly Vector256<short> BSums = bsums;
        public readonly float D = d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ2_K*)w;
        var packed = Vector128.Load(b->Scales);
        var scales = Vector256.Create(packed, packed) & Vector256.Create((byte)0x0F);
        var mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(packed, 4));
        return new(Vector256.Load(b->Qs), Vector256.Load(b->Qs + 32), scales, mins, Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->DMin));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        return new(b->Qs, Vector256.Load(b->BSums), b->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Weights w, in Activations x, Vector256<float> acc)
    {
        var mins = Avx2.MultiplyAddAdjacent(w.Mins, x.BSums);
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(mins), Vector256.Create(-x.D * w.DMin), acc);
        var sumi = (Chunk(w.Q0, w.Scales, x.Q, 0) + Chunk(w.Q0, w.Scales, x.Q, 1)) + (Chunk(w.Q0, w.Scales, x.Q, 2) + Chunk(w.Q0, w.Scales, x.Q, 3))
                 + ((Chunk(w.Q1, w.Scales, x.Q, 4) + Chunk(w.Q1, w.Scales, x.Q, 5)) + (Chunk(w.Q1, w.Scales, x.Q, 6) + Chunk(w.Q1, w.Scales, x.Q, 7)));
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(x.D * w.D), acc);
    }

#pragma warning disable CA1857 // shift counts derived from a constant argument are constants once the method is inlined
    /// <summary>
    /// Scale-weighted int32 sums of chunk c = 4n + j: values [32c, 32c + 32) are (Q_n &gt;&gt; 2j) &amp; 3, sub-block
    /// 2c in the lower 128-bit lane and 2c + 1 in the upper.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Chunk(Vector256<byte> qn, Vector256<byte> scales, sbyte* x, [ConstantExpected(Min = 0, Max = 7)] byte c)
    {
        var q = Avx2.ShiftRightLogical(qn.AsUInt16(), (byte)(2 * (c % 4))).AsByte() & Vector256.Create((byte)3);
        var pairs = Avx2.MultiplyAddAdjacent(q, Vector256.Load(x + 32 * c));
        return Avx2.MultiplyAddAdjacent(pairs, Avx2.Shuffle(scales, ScaleShuffle(c)).AsInt16());
    }
#pragma warning restore CA1857

    /// <summary>vpshufb control: in each int16, scale byte 2c (lower lane) or 2c + 1 (upper lane), then a zero byte (0x80).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ScaleShuffle(int c)
    {
        ushort a = (ushort)(0x8000 | (2 * c)), b = (ushort)(0x8000 | (2 * c + 1));
        return Vector256.Create(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b).AsByte();
    }
}

[KernelPrimitives(typeof(BlockQ2_K), typeof(BlockQ8_K), KernelIsa.Portable, GemvRows = 4, GemvUnroll = 1)]
internal static unsafe class Q2_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ2_K.BlockSize;

    /// <summary>The block itself: each 16-value sub-block is unpacked where it meets its activations.</summary>
    public readonly struct Weights(BlockQ2_K* block, float d, float dmin)
    {
        public readonly BlockQ2_K* Block = block;
        public readonly float D = d;
        public readonly float DMin = dmin;
    }

    public readonly struct Activations(sbyte* q, Vector128<short> bsums0, Vector128<short> bsums1, float d)
    {
        public readonly sbyte* Q = q;
        public readonly Vector128<short> BSums0 = bsums0, BSums1 = bsums1;
        public readonly float D = d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ2_K*)w;
        return new(b, Fp16.HalfBitsToSingle(b->D), Fp16.HalfBitsToSingle(b->DMin));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        return new(b->Qs, Vector128.Load(b->BSums), Vector128.Load(b->BSums + 8), b->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Weights w, in Activations x, Vector128<float> acc)
    {
        var b = w.Block;
        // Mins: bsum * min fits int16 (2048 * 15); the two halves are widened before they are added.
        var (m0, m1) = Vector128.Widen(Vector128.ShiftRightLogical(Vector128.Load(b->Scales), 4));
        var (p0, p1) = Vector128.Widen(x.BSums0 * m0.AsInt16());
        var (p2, p3) = Vector128.Widen(x.BSums1 * m1.AsInt16());
        var mins = (p0 + p1) + (p2 + p3);
        acc = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(mins), Vector128.Create(-x.D * w.DMin), acc);

        // Bytes [16g, 16g + 16) of qs (g = 2n + h) hold, two bits each, sub-blocks s = 8n + h + 2j (j = 0..3):
        // values [16s, 16s + 16).
        var sumi = Vector128<int>.Zero;
        var three = Vector128.Create((byte)3);
        for (int g = 0; g < 4; g++)
        {
            var q = Vector128.Load(b->Qs + 16 * g);
            int s = 8 * (g >> 1) + (g & 1);
            sumi += (ScaledDot(q & three, x.Q, b, s) + ScaledDot(Vector128.ShiftRightLogical(q, 2) & three, x.Q, b, s + 2))
                  + (ScaledDot(Vector128.ShiftRightLogical(q, 4) & three, x.Q, b, s + 4) + ScaledDot(Vector128.ShiftRightLogical(q, 6), x.Q, b, s + 6));
        }
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sumi), Vector128.Create(x.D * w.D), acc);
    }

    /// <summary>
    /// scale * (q . x) over sub-block s in four exact int32 lanes. In int16: a pair sum is at most 2 * 3 * 127 and the
    /// scale at most 15, so the scaled pair sums fit before they are widened.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> ScaledDot(Vector128<byte> q, sbyte* x, BlockQ2_K* b, int s)
    {
        var (q0, q1) = Vector128.Widen(q);
        var (x0, x1) = Vector128.Widen(Vector128.Load(x + 16 * s));
        var (p0, p1) = Vector128.Widen((q0.AsInt16() * x0 + q1.AsInt16() * x1) * (short)(b->Scales[s] & 0xF));
        return p0 + p1;
    }
}
