using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q6_K weights x Q8_K activations (ggml_vec_dot_q6_K_q8_K), one 256-value super-block per step. The 6-bit quants
// stay unsigned (0..63) so vpmaddubsw takes them directly (a pair sum is at most 2 * 63 * 127, no saturation);
// the -32 offset is taken off the int16 pair sums as vpmaddubsw(32, x), then vpmaddwd applies the int8 sub-block
// scales. All integer sums are exact and land in llama.cpp's lanes; one float FMA per super-block with
// d = d_w * d_x (one float multiply). On AVX-512 and AVX2 the float operations are llama.cpp's (KQuantSimd).
//
// Why the steps are plain pointers and MulAdd does all the work (for all three K-quants): an unpacked super-block
// is many vectors, and the JIT gives every inlined copy of LoadWeights/MulAdd in a tile its own temporaries; past
// 512 locals in a kernel it stops inlining (measured: the matrix-matrix kernels then called the primitives). So
// MulAdd unpacks inside a loop whose body is inlined once, and the activations are read as memory operands.

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemvUnroll = 1, GemmRows = 2, GemmColumns = 4)]
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
        return KQuantSimd.MulAddInLlamaOrder(sums, Vector128<int>.Zero, d, 0, acc);
    }

    /// <summary>64 quants times 64 activations, (q - 32) * x summed in int16 pairs, each pair times its scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Scaled(Vector512<byte> q, sbyte* x, Vector512<short> scale)
    {
        var xs = Vector512.Load(x);
        var pairs = Avx512BW.MultiplyAddAdjacent(q, xs) - Avx512BW.MultiplyAddAdjacent(Vector512.Create((byte)32), xs);
        return Avx512BW.MultiplyAddAdjacent(pairs, scale);
    }
}

[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemvUnroll = 1, GemmRows = 2)]
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
        return KQuantSimd.MulAddInLlamaOrder(sums, d, acc);
    }

    /// <summary>
    /// 32 quants (sub-blocks 2i and 2i + 1 of the half) times 32 activations, (q - 32) * x summed in int16 pairs,
    /// each pair times its sub-block scale: vpshufb picks int16 scale 2i in the low 128-bit lane, 2i + 1 in the high.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<byte> q, sbyte* x, Vector256<short> halfScales, int i)
    {
        ulong low = (ulong)(4 * i | (4 * i + 1) << 8) * 0x0001_0001_0001_0001, high = low + 0x0202_0202_0202_0202;
        var scale = Avx2.Shuffle(halfScales.AsByte(), Vector256.Create(low, low, high, high).AsByte()).AsInt16();
        var xs = Vector256.Load(x);
        var pairs = Avx2.MultiplyAddAdjacent(q, xs) - Avx2.MultiplyAddAdjacent(Vector256.Create((byte)32), xs);
        return Avx2.MultiplyAddAdjacent(pairs, scale);
    }
}

// Matrix-matrix tiles of 2 rows: with 4, the JIT runs out of locals before it has inlined every MulAdd copy.
[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Portable, GemvUnroll = 1, GemmRows = 2)]
internal static unsafe class Q6_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ6_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(byte* w, byte* x, Vector128<float> acc)
    {
        var b = (BlockQ6_K*)w;
        var a = (BlockQ8_K*)x;
        var nibble = Vector128.Create((byte)0x0F);
        var bits45 = Vector128.Create((byte)0x30);
        var thirtyTwo = Vector128.Create((sbyte)32);
        var sums = Vector128<int>.Zero;
        for (int j = 0; j < 4; j++)
        {
            // Values 128n + 16c + 32i + 0..15 for i = 0..3 (sub-blocks 8n + c + 2i), n = j / 2, c = j % 2: 16 bytes
            // of ql from each 32-byte half and 16 of qh give four sub-blocks of signed q - 32.
            int offset = 64 * (j >> 1) + 16 * (j & 1);
            var l0 = Vector128.Load(b->Ql + offset);
            var l1 = Vector128.Load(b->Ql + offset + 32);
            var h = Vector128.Load(b->Qh + (offset >> 1) + 8 * (j & 1));
            sbyte* xs = a->Qs + 2 * offset - 16 * (j & 1);
            sbyte* sc = b->Scales + 8 * (j >> 1) + (j & 1);
            sums += Dot16(((l0 & nibble) | (Vector128.ShiftLeft(h, 4) & bits45)).AsSByte() - thirtyTwo, xs, sc[0])
                + Dot16(((l1 & nibble) | (Vector128.ShiftLeft(h, 2) & bits45)).AsSByte() - thirtyTwo, xs + 32, sc[2])
                + Dot16((Vector128.ShiftRightLogical(l0, 4) | (h & bits45)).AsSByte() - thirtyTwo, xs + 64, sc[4])
                + Dot16((Vector128.ShiftRightLogical(l1, 4) | (Vector128.ShiftRightLogical(h, 2) & bits45)).AsSByte() - thirtyTwo, xs + 96, sc[6]);
        }
        float d = Fp16.HalfBitsToSingle(b->D) * a->D;
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sums), Vector128.Create(d), acc);
    }

    /// <summary>
    /// 16 quants (-32..31) times 16 activations times the sub-block scale, in 4 int32 lanes: a product is at most
    /// 32 * 127 and a sum of two fits int16, so pairs are summed before one widening (cheaper than
    /// <see cref="Int8Dot.Portable"/>, and without its tuples).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot16(Vector128<sbyte> q, sbyte* x, int scale)
    {
        var xv = Vector128.Load(x);
        var p = Vector128.WidenLower(q) * Vector128.WidenLower(xv) + Vector128.WidenUpper(q) * Vector128.WidenUpper(xv);
        return (Vector128.WidenLower(p) + Vector128.WidenUpper(p)) * scale;
    }
}
