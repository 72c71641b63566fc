using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q2_K weights x Q8_K activations (ggml_vec_dot_q2_K_q8_K), one 256-value super-block per step (its integer work
// hides FMA latency, so no unrolling). The 2-bit quants stay unsigned (0..3) so vpmaddubsw takes them directly: its
// int16 pair sums (at most 2 * 3 * 127) stay within one 16-value sub-block, and vpmaddwd with the sub-block's 4-bit
// scale widens them to exact int32 lanes (per lane at most 8 * 2 * 762 * 15, far below 2^31). The mins meet the
// activations' bsums (sums of 16) in one vpmaddwd. Per super-block, as in llama.cpp:
// acc = fma(-(y.d * dmin), float(mins . bsums), acc), then acc = fma(y.d * d, float(sumi), acc). On AVX2 both go to
// llama.cpp's 8 lanes in the order that makes the final sum its hsum_float_8 (KQuantSimd): its result bit for bit.
//
// The steps are plain pointers and MulAdd does all the work in a loop whose body is inlined once: an unpacked
// super-block is many vectors, and every inlined copy in a tile would bring its own temporaries until the JIT stops
// inlining (it allows 512 locals per kernel). The activations are read as memory operands.

[KernelPrimitives(typeof(BlockQ2_K), typeof(BlockQ8_K), KernelIsa.Avx512)]
internal static unsafe class Q2_KxQ8_K_Avx512
{
    public const int ValuesPerStep = BlockQ2_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(byte* w, byte* x, Vector512<float> acc)
    {
        var b = (BlockQ2_K*)w;
        var a = (BlockQ8_K*)x;
        var packed = Vector128.Load(b->Scales);
        var mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(packed, 4));
        acc = Vector512.FusedMultiplyAdd(Vector256.ConvertToSingle(Avx2.MultiplyAddAdjacent(mins, Vector256.Load(a->BSums))).ToVector512(),
            Vector512.Create(-(a->D * Fp16.HalfBitsToSingle(b->DMin))), acc);

        // Chunk j: the quant bytes (n = 0 in the lower half, n = 1 in the upper) shifted by 2j are values
        // [32j, 32j + 32) and [128 + 32j, 160 + 32j), sub-blocks 2j, 2j + 1, 8 + 2j, 9 + 2j (eight int16 pair sums
        // each); the activations are regrouped to match.
        var table = Avx2.ConvertToVector256Int16(packed & Vector128.Create((byte)0x0F)).ToVector512Unsafe();
        var pick = Vector512.Create((short)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9);
        var q = Vector512.Load(b->Qs);
        var sums = Vector512<int>.Zero;
        for (int j = 0; j < 4; j++)
        {
            var x2 = Avx512F.InsertVector256(Vector256.Load(a->Qs + 32 * j).ToVector512Unsafe(), Vector256.Load(a->Qs + 128 + 32 * j), 1);
            var pairs = Avx512BW.MultiplyAddAdjacent(q & Vector512.Create((byte)3), x2);
            sums += Avx512BW.MultiplyAddAdjacent(pairs, Avx512BW.PermuteVar32x16(table, pick));
            q = Vector512.ShiftRightLogical(q.AsUInt16(), 2).AsByte();
            pick += Vector512.Create((short)2);
        }
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), Vector512.Create(a->D * Fp16.HalfBitsToSingle(b->D)), acc);
    }
}

// Matrix-matrix tiles of 2 rows: with 4, the JIT reaches its 512 locals before it has inlined every MulAdd copy.
[KernelPrimitives(typeof(BlockQ2_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemmRows = 2)]
internal static unsafe class Q2_KxQ8_K_Avx2
{
    public const int ValuesPerStep = BlockQ2_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(byte* w, byte* x, Vector256<float> acc)
    {
        var b = (BlockQ2_K*)w;
        var a = (BlockQ8_K*)x;
        var packed = Vector128.Load(b->Scales);
        var mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(packed, 4));
        acc = KQuantSimd.MulAddInLlamaOrder(Avx2.MultiplyAddAdjacent(mins, Vector256.Load(a->BSums)), -(a->D * Fp16.HalfBitsToSingle(b->DMin)), acc);

        // Half n: quant bytes 32n.. shifted by 2j are values 128n + 32j .. + 32, sub-block 8n + 2j in the lower
        // 128-bit lane and 8n + 2j + 1 in the upper. The scale bytes of the half sit at 0..7 of both lanes.
        var scales = Vector256.Create(packed, packed) & Vector256.Create((byte)0x0F);
        var sums = Vector256<int>.Zero;
        for (int n = 0; n < 2; n++)
        {
            var q = Vector256.Load(b->Qs + 32 * n);
            sbyte* xs = a->Qs + 128 * n;
            var three = Vector256.Create((byte)3);
            sums += (Scaled(q & three, xs, scales, 0) + Scaled(Vector256.ShiftRightLogical(q.AsUInt16(), 2).AsByte() & three, xs + 32, scales, 1))
                  + (Scaled(Vector256.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & three, xs + 64, scales, 2)
                     + Scaled(Vector256.ShiftRightLogical(q.AsUInt16(), 6).AsByte() & three, xs + 96, scales, 3));
            scales = Avx2.ShiftRightLogical128BitLane(scales, 8);
        }
        return KQuantSimd.MulAddInLlamaOrder(sums, a->D * Fp16.HalfBitsToSingle(b->D), acc);
    }

    /// <summary>
    /// 32 quants (sub-blocks 2j and 2j + 1 of the half) times 32 activations, each pair sum times its sub-block
    /// scale: vpshufb puts scale byte 2j (lower lane) or 2j + 1 (upper lane) in every int16, high byte zeroed (0x80).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<byte> q, sbyte* x, Vector256<byte> scales, int j)
    {
        ushort low = (ushort)(0x8000 | (2 * j)), high = (ushort)(0x8000 | (2 * j + 1));
        var scale = Avx2.Shuffle(scales, Vector256.Create(low, low, low, low, low, low, low, low, high, high, high, high, high, high, high, high).AsByte());
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q, Vector256.Load(x)), scale.AsInt16());
    }
}

[KernelPrimitives(typeof(BlockQ2_K), typeof(BlockQ8_K), KernelIsa.Portable)]
internal static unsafe class Q2_KxQ8_K_Portable
{
    public const int ValuesPerStep = BlockQ2_K.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadWeights(byte* w) => w;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(byte* w, byte* x, Vector128<float> acc)
    {
        var b = (BlockQ2_K*)w;
        var a = (BlockQ8_K*)x;
        // Mins: bsum * min fits int16 (16 * 127 * 15); the products are widened before they are added.
        var m = Vector128.ShiftRightLogical(Vector128.Load(b->Scales), 4);
        var p0 = Vector128.Load(a->BSums) * Vector128.WidenLower(m).AsInt16();
        var p1 = Vector128.Load(a->BSums + 8) * Vector128.WidenUpper(m).AsInt16();
        var mins = (Vector128.WidenLower(p0) + Vector128.WidenUpper(p0)) + (Vector128.WidenLower(p1) + Vector128.WidenUpper(p1));
        acc = Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(mins), Vector128.Create(-(a->D * Fp16.HalfBitsToSingle(b->DMin))), acc);

        // Bytes [16g, 16g + 16) of qs (g = 2n + h) hold, two bits each, sub-blocks s = 8n + h + 2j (j = 0..3):
        // values [16s, 16s + 16).
        var sumi = Vector128<int>.Zero;
        for (int g = 0; g < 4; g++)
        {
            var q = Vector128.Load(b->Qs + 16 * g);
            for (int s = 8 * (g >> 1) + (g & 1); s < 8 * (g >> 1) + 8; s += 2)
            {
                sumi += ScaledDot(q & Vector128.Create((byte)3), a->Qs + 16 * s, b->Scales[s] & 0xF);
                q = Vector128.ShiftRightLogical(q, 2);
            }
        }
        return Vector128.MultiplyAddEstimate(Vector128.ConvertToSingle(sumi), Vector128.Create(a->D * Fp16.HalfBitsToSingle(b->D)), acc);
    }

    /// <summary>
    /// scale * (q . x) over 16 values in four exact int32 lanes. In int16: a pair sum is at most 2 * 3 * 127 and the
    /// scale at most 15, so the scaled pair sums fit before they are widened.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> ScaledDot(Vector128<byte> q, sbyte* x, int scale)
    {
        var xs = Vector128.Load(x);
        var p = (Vector128.WidenLower(q).AsInt16() * Vector128.WidenLower(xs) + Vector128.WidenUpper(q).AsInt16() * Vector128.WidenUpper(xs)) * (short)scale;
        return Vector128.WidenLower(p) + Vector128.WidenUpper(p);
    }
}
