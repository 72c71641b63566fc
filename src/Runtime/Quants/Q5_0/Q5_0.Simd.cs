using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q5_0 weights x Q8_0 activations (ggml_vec_dot_q5_0_q8_0). As for Q4_0, the 5-bit quants stay unsigned (0..31,
// nibble | fifth bit << 4) so vpmaddubsw can take them directly; the -16 offset is applied as 16 * (activation pair
// sums), which depends only on the activations and so is computed once per activation step and shared by every
// weight row of a tile. Pair sums stay far inside int16: |(q - 16) * x| * 2 <= 16 * 127 * 2.
//
// The x86 paths reproduce llama.cpp's AVX2 kernel (which its AVX-512 builds run too) bit for bit: one block per
// step, ggml's eight lane sums in GgmlLanes' layout, acc = fma(d_w * d_x, lane sums, acc), one accumulator per dot
// product. llama.cpp's batched path for Q5_0 (tinyBLAS) computes the same numbers in the same
// order. Matching its rounding exactly matters: activations are re-quantized after every product, and a last-bit
// difference that moves one of them across a rounding boundary moved stories260K logits by up to 0.15. The
// AVX-512 path does the same 256-bit integer work with the float lanes in the lower half of a Vector512 (upper half
// zero), which Vector512.Sum adds last.

/// <summary>The unpacking both x86 paths share, in <see cref="GgmlLanes"/>' layout.</summary>
internal static unsafe class Q5_0xQ8_0_X86
{
    public readonly record struct Weights(Vector256<byte> Q, float D);

    /// <summary>The activation quants, minus 16 times their sums of four (the -16 offset of the weights), and the scale.</summary>
    public readonly record struct Activations(Vector256<sbyte> Q, Vector256<int> Offset, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ5_0*)w;
        var q = GgmlLanes.Nibbles(Vector128.Load(b->Qs)) | FifthBits.InGgmlLaneOrder(Unsafe.ReadUnaligned<uint>(b->Qh));
        return new(q, Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        var q = GgmlLanes.FromValueOrder(Vector256.Load(b->Qs));
        return new(q, -Int8Dot.SumQuads(Vector256.Create((byte)16), q), Fp16.HalfBitsToSingle(b->D));
    }

    /// <summary>ggml's eight exact lane sums of (q - 16) * x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LaneSums(in Weights w, in Activations x) =>
        Vector256.ConvertToSingle(Int8Dot.SumQuads(x.Offset, w.Q, x.Q));
}

[KernelPrimitives(typeof(BlockQ5_0), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class Q5_0xQ8_0_Avx512
{
    public const int ValuesPerStep = BlockQ5_0.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q5_0xQ8_0_X86.Weights LoadWeights(byte* w) => Q5_0xQ8_0_X86.LoadWeights(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q5_0xQ8_0_X86.Activations LoadActivations(byte* x) => Q5_0xQ8_0_X86.LoadActivations(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Q5_0xQ8_0_X86.Weights w, in Q5_0xQ8_0_X86.Activations x, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.Create(w.D * x.D), Q5_0xQ8_0_X86.LaneSums(w, x).ToVector512(), acc);
}

[KernelPrimitives(typeof(BlockQ5_0), typeof(BlockQ8_0), KernelIsa.Avx2)]
internal static unsafe class Q5_0xQ8_0_Avx2
{
    public const int ValuesPerStep = BlockQ5_0.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q5_0xQ8_0_X86.Weights LoadWeights(byte* w) => Q5_0xQ8_0_X86.LoadWeights(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q5_0xQ8_0_X86.Activations LoadActivations(byte* x) => Q5_0xQ8_0_X86.LoadActivations(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Q5_0xQ8_0_X86.Weights w, in Q5_0xQ8_0_X86.Activations x, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(w.D * x.D), Q5_0xQ8_0_X86.LaneSums(w, x), acc);
}

/// <summary>
/// The portable path in the x86 kernel's float operations, as Q8_0's (<see cref="Q8_0xQ8_0_Portable"/>): ggml's eight
/// lane sums (lane k: values 4k..4k+3) in a <see cref="Lanes8x128"/>, both operands' 16-byte halves transposed (4 x 4
/// bytes) so that Int8Dot.Portable's lane k sums values 4k..4k+3.
/// </summary>
[KernelPrimitives(typeof(BlockQ5_0), typeof(BlockQ8_0), KernelIsa.Portable)]
internal static unsafe class Q5_0xQ8_0_Portable
{
    public const int ValuesPerStep = BlockQ5_0.BlockSize;

    /// <summary>Lo: values 0..15, Hi: values 16..31, as signed q - 16.</summary>
    public readonly record struct Weights(Vector128<sbyte> Lo, Vector128<sbyte> Hi, float D);

    public readonly record struct Activations(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* w)
    {
        var b = (BlockQ5_0*)w;
        var packed = Vector128.Load(b->Qs);
        var (fifthLo, fifthHi) = FifthBits.Portable(Unsafe.ReadUnaligned<uint>(b->Qh));
        var sixteen = Vector128.Create((sbyte)16);
        var lo = ((packed & Vector128.Create((byte)0x0F)) | fifthLo).AsSByte() - sixteen;
        var hi = (Vector128.ShiftRightLogical(packed, 4) | fifthHi).AsSByte() - sixteen;
        return new(Vector128.Shuffle(lo, Transpose), Vector128.Shuffle(hi, Transpose), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0*)x;
        return new(Vector128.Shuffle(Vector128.Load(b->Qs), Transpose), Vector128.Shuffle(Vector128.Load(b->Qs + 16), Transpose), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8x128 MulAdd(in Weights w, in Activations x, Lanes8x128 acc)
    {
        var d = Vector128.Create(w.D * x.D);
        return Lanes8x128.MulAdd(d, d, Vector128.ConvertToSingle(Int8Dot.Portable(w.Lo, x.Q0)), Vector128.ConvertToSingle(Int8Dot.Portable(w.Hi, x.Q1)), acc);
    }

    private static Vector128<sbyte> Transpose => Vector128.Create((sbyte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
}
