using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q3_K weights x Q8_K activations (ggml_vec_dot_q3_K_q8_K). One step is one 256-value super-block. Each quant is
// read as L = low2 | high << 2 in 0..7 (q = L - 4), unsigned so vpmaddubsw takes it directly (int16 pair sums
// <= 2 * 7 * 128); vpmaddwd with the signed sub-block scale widens them to exact int32 lanes. The -4 is paid once per
// super-block from the activations' bsums: sum of scale * (L - 4) * x = sum of scale * L * x - 4 * sum of scale * bsum.
// Per lane the int32 sums stay far below 2^31 (8 chunks of at most 2 * 1792 * 32); then, as in llama.cpp,
// acc = fma(y.d * d, float(sumi), acc).

[KernelPrimitives(typeof(BlockQ3_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemvRows = 4, GemvUnroll = 1, GemmRows = 4, GemmColumns = 2)]
internal static unsafe class Q3_KxQ8_K_Avx512
{
    /// <summary>One super-block per step: its integer work is long enough to hide FMA latency without unrolling.</summary>
    public const int ValuesPerStep = BlockQ3_K.BlockSize;

    /// <summary>
    /// Q: the 64 low-bit bytes (n = 0 lower half, n = 1 upper); H: the high-bit mask, then the mask &gt;&gt; 4, so
    /// bit j of H belongs to chunk j in both halves; Scales: the 16 signed scales as int16 (lanes 0-15).
    /// </summary>
    public readonly record struct Weights(Vector512<byte> Q, Vector512<byte> H, Vector512<short> Scales, float D);

    /// <summary>Q0..Q3: chunk j = values [32j, 32j + 32) then [128 + 32j, 160 + 32j), shared by every row; BSums: sums of 16.</summary>
    public readonly record struct Activations(Vector512<sbyte> Q0, Vector512<sbyte> Q1, Vector512<sbyte> Q2, Vector512<sbyte> Q3, Vector256<short> BSums, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ3_K*)w;
        var h = Vector256.Load(b->HMask);
        var high = Avx512F.InsertVector256(h.ToVector512Unsafe(), Avx2.ShiftRightLogical(h.AsUInt16(), 4).AsByte(), 1);
        var scales = Avx2.ConvertToVector256Int16(Q3_KScales.Decode(b->Scales)).ToVector512Unsafe();
        return new(Vector512.Load(b->Qs), high, scales, Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        return new(Regroup(b->Qs, 0), Regroup(b->Qs, 1), Regroup(b->Qs, 2), Regroup(b->Qs, 3), Vector256.Load(b->BSums), b->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var offset = Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(w.Scales.GetLower(), x.BSums), 2);
        var sumi = (Chunk(w, x.Q0, 0) + Chunk(w, x.Q1, 1)) + (Chunk(w, x.Q2, 2) + Chunk(w, x.Q3, 3)) - offset.ToVector512();
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sumi), Vector512.Create(x.D * w.D), acc);
    }

    /// <summary>Activation chunk j in the order of the weights' chunk j: values [32j, 32j + 32), then 128 later.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Regroup(sbyte* q, int j) =>
        Avx512F.InsertVector256(Vector256.Load(q + 32 * j).ToVector512Unsafe(), Vector256.Load(q + 128 + 32 * j), 1);

#pragma warning disable CA1857 // shift counts derived from a constant argument are constants once the method is inlined
    /// <summary>Scale-weighted int32 sums of L * x over chunk j (sub-blocks 2j, 2j + 1, 8 + 2j, 9 + 2j).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunk(in Weights w, Vector512<sbyte> x, [ConstantExpected(Min = 0, Max = 3)] byte j)
    {
        var low = Avx512BW.ShiftRightLogical(w.Q.AsUInt16(), (byte)(2 * j)).AsByte() & Vector512.Create((byte)3);
        // Bit j of H to bit 2 (16-bit shifts by at most 2 never bring a neighbouring byte's bit to bit 2).
        var h = w.H.AsUInt16();
        h = j < 2 ? Avx512BW.ShiftLeftLogical(h, (byte)(2 - j)) : j > 2 ? Avx512BW.ShiftRightLogical(h, (byte)(j - 2)) : h;
        var q = low | (h.AsByte() & Vector512.Create((byte)4));
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

[KernelPrimitives(typeof(BlockQ3_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemvRows = 4, GemvUnroll = 1, GemmRows = 2, GemmColumns = 2)]
internal static unsafe class Q3_KxQ8_K_Avx2
{
    /// <summary>One super-block per step. Sixteen ymm registers: the activations stay in memory (vpmaddubsw reads them).</summary>
    public const int ValuesPerStep = BlockQ3_K.BlockSize;

    /// <summary>Q0, Q1: low-bit bytes of n = 0 and 1; H: the high-bit mask; Scales: the 16 signed scales as int16.</summary>
    public readonly record struct Weights(Vector256<byte> Q0, Vector256<byte> Q1, Vector256<byte> H, Vector256<short> Scales, float D);

    public readonly struct Activations(sbyte* q, Vector256<short> bsums, float d)
    {
        public readonly sbyte* Q = q;
        public readonly Vector256<short> BSums = bsums;
        public readonly float D = d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ3_K*)w;
        var scales = Avx2.ConvertToVector256Int16(Q3_KScales.Decode(b->Scales));
        return new(Vector256.Load(b->Qs), Vector256.Load(b->Qs + 32), Vector256.Load(b->HMask), scales, Fp16.HalfBitsToSingle(b->D));
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
        // Scales of sub-blocks 0-7 (n = 0) and 8-15 (n = 1), each in both 128-bit lanes for vpshufb.
        var lo = Avx2.Permute4x64(w.Scales.AsUInt64(), 0b01_00_01_00).AsByte();
        var hi = Avx2.Permute4x64(w.Scales.AsUInt64(), 0b11_10_11_10).AsByte();
        var sumi = (Chunk(w.Q0, w.H, lo, x.Q, 0) + Chunk(w.Q0, w.H, lo, x.Q, 1)) + (Chunk(w.Q0, w.H, lo, x.Q, 2) + Chunk(w.Q0, w.H, lo, x.Q, 3))
                 + ((Chunk(w.Q1, w.H, hi, x.Q, 4) + Chunk(w.Q1, w.H, hi, x.Q, 5)) + (Chunk(w.Q1, w.H, hi, x.Q, 6) + Chunk(w.Q1, w.H, hi, x.Q, 7)));
        sumi -= Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(w.Scales, x.BSums), 2);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sumi), Vector256.Create(x.D * w.D), acc);
    }

#pragma warning disable CA1857 // shift counts derived from a constant argument are constants once the method is inlined
    /// <summary>
    /// Scale-weighted int32 sums of L * x over chunk c = 4n + j: values [32c, 32c + 32), low bits (Q_n &gt;&gt; 2j) &amp; 3,
    /// high bit c of H; sub-block 2c in the lower 128-bit lane, 2c + 1 in the upper.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Chunk(Vector256<byte> qn, Vector256<byte> hmask, Vector256<byte> scales, sbyte* x, [ConstantExpected(Min = 0, Max = 7)] byte c)
    {
        var low = Avx2.ShiftRightLogical(qn.AsUInt16(), (byte)(2 * (c % 4))).AsByte() & Vector256.Create((byte)3);
        // Bit c of the mask to bit 2 (16-bit shifts: left by at most 2 or right by at most 5 keep bit 2 within its byte).
        var h = hmask.AsUInt16();
        h = c < 2 ? Avx2.ShiftLeftLogical(h, (byte)(2 - c)) : c > 2 ? Avx2.ShiftRightLogical(h, (byte)(c - 2)) : h;
        var q = low | (h.AsByte() & Vector256.Create((byte)4));
        var pairs = Avx2.MultiplyAddAdjacent(q, Vector256.Load(x + 32 * c));
        return Avx2.MultiplyAddAdjacent(pairs, Avx2.Shuffle(scales, ScaleShuffle(c % 4)).AsInt16());
    }
#pragma warning restore CA1857

    /// <summary>vpshufb control: int16 scale 2j of the lane's eight in the lower 128-bit lane, 2j + 1 in the upper.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> ScaleShuffle(int j)
    {
        ushort a = (ushort)(((4 * j + 1) << 8) | (4 * j)), b = (ushort)(((4 * j + 3) << 8) | (4 * j + 2));
        return Vector256.Create(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b).AsByte();
    }
}

[KernelPrimitives(typeof(BlockQ3_K), typeof(BlockQ8_K), KernelIsa.Portable, GemvRows = 4, GemvUnroll = 1)]
internal static unsafe class Q3_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ3_K.BlockSize;

    /// <summary>The block itself: each 16-value sub-block is unpacked where it meets its activations.</summary>
    public readonly struct Weights(BlockQ3_K* block, float d)
    {
        public readonly BlockQ3_K* Block = block;
        public readonly float D = d;
    }

    public readonly struct Activations(sbyte* q, float d)
    {
        public readonly sbyte* Q = q;
        public readonly float D = d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ3_K*)w;
        return new(b, Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_K*)x;
        return new(b->Qs, b->D);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(in Weights w, in Activations x, Vector128<float> acc)
    {
        var b = w.Block;
        // Bytes [16g, 16g + 16) of qs (g = 2n + h) hold the low bits of sub-blocks s = 8n + h + 2j (j = 0..3),
        // values [16s, 16s + 16); their high bits are bit 4n + j of hmask[16h ..].
        var sumi = Vector128<int>.Zero;
        for (int g = 0; g < 4; g++)
        {
            int n = g >> 1, h = g & 1, s = 8 * n + h;
            var q = Vector128.Load(b->Qs + 16 * g);
            var hm = Vector128.ShiftRightLogical(Vector128.Load(b->HMask + 16 * h), 4 * n);
            sumi += (ScaledDot(q, hm, 0, x.Q, b, s) + ScaledDot(q, hm, 1, x.Q, b, s + 2))
                  + (ScaledDot(q, hm, 2, x.Q, b, s + 4) + ScaledDot(q, hm, 3, x.Q, b, s + 6));
        }
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sumi), Vector128.Create(x.D * w.D), acc);
    }

    /// <summary>
    /// scale * (q . x) over sub-block s (bits 2j of <paramref name="qs"/>, bit j of <paramref name="hm"/>) in four
    /// exact int32 lanes. In int16: q is in -4..3 and Q8_K activations in -127..127, so a pair sum is at most
    /// 2 * 4 * 127 and, times a scale of at most 32, still fits before it is widened.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> ScaledDot(Vector128<byte> qs, Vector128<byte> hm, int j, sbyte* x, BlockQ3_K* b, int s)
    {
        var low = Vector128.ShiftRightLogical(qs, 2 * j) & Vector128.Create((byte)3);
        var high = Vector128.ShiftLeft(Vector128.ShiftRightLogical(hm, j) & Vector128<byte>.One, 2);
        var (q0, q1) = Vector128.Widen((low | high).AsSByte() - Vector128.Create((sbyte)4));
        var (x0, x1) = Vector128.Widen(Vector128.Load(x + 16 * s));
        var (p0, p1) = Vector128.Widen((q0 * x0 + q1 * x1) * (short)BlockQ3_K.Scale(*b, s));
        return p0 + p1;
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
