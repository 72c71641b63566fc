using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// F32 weights x F32 activations, in the order of llama.cpp's tinyBLAS on an AVX2 build (llamafile/sgemm.cpp,
// tinyBLAS<8, __m256>), which takes every F32 (and F16) product whose rows are a multiple of 4 and K of 8, one token
// or many: per dot product one 8-lane accumulator, acc = fma(w, x, acc) over 8 values at a time, then hsum_float_8.
// Every path keeps that accumulator (a Vector256 reduced by Sum, Lanes8x128, or two rows' in the halves of a
// Vector512), so a model's logits do not depend on the CPU and match llama.cpp's references; the format tests pin each
// kernel to a scalar model of tinyBLAS bit for bit. The F16 kernels' prompt panels (see MatMul) go through these
// kernels: in the F16 kernels' layout (the file's, groups of 4 rows on AVX2), or, from the AVX-512 path's groups of 4
// F16 rows, in row pairs.

[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx2, GemmRows = 4, GemmColumns = 3)]
internal static unsafe class F32xF32_Avx2
{
    public const int ValuesPerStep = 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => Vector256.Load((float*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
    /// <summary>
    /// hsum_float_8, ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)): Vector256.Sum adds the lanes in another order.
    /// The accumulator is a plain vector so that RyuJIT accumulates in place (a wrapper struct cost a register copy
    /// per multiply-add in the AVX2 tile).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => GgmlLanes.Sum(acc);
}

/// <summary>
/// F32 in groups of 4 rows for the AVX2 path (<see cref="RowSteps"/>: per step of 128 bytes, each row's 8 values in
/// turn), the F16 prompt panels' layout there (F16xF16_Avx2_X4's groups widened value by value). A tile of 4 rows
/// then reads its weights as one stream, which stays in L1 while the tile's K block meets every column. The
/// primitives are <see cref="F32xF32_Avx2"/>'s: each row keeps tinyBLAS's 8-lane accumulator.
/// </summary>
[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx2, GemmRows = 4, GemmColumns = 3)]
internal static unsafe class F32xF32_Avx2_X4
{
    public const int SteppedRows = 4;
    public const int ValuesPerStep = F32xF32_Avx2.ValuesPerStep;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => F32xF32_Avx2.LoadWeights(w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => F32xF32_Avx2.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => F32xF32_Avx2.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => F32xF32_Avx2.Sum(acc);

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; a missing row is zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) =>
        RowSteps.Repack<float>(src, srcRowBytes, rowCount, SteppedRows, k, dst, ValuesPerStep);
}

/// <summary>
/// The file's layout on the AVX-512 path (matrices that are not repacked: a tied output that is also the token
/// table): the AVX2 primitives, 8 lanes per dot product, with 12 accumulators per
/// matrix-matrix tile (AVX-512 has 32 registers).
/// </summary>
[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx512, GemmRows = 4, GemmColumns = 3)]
internal static unsafe class F32xF32_Avx512
{
    public const int ValuesPerStep = F32xF32_Avx2.ValuesPerStep;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => F32xF32_Avx2.LoadWeights(w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => F32xF32_Avx2.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => F32xF32_Avx2.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => F32xF32_Avx2.Sum(acc);
}

/// <summary>
/// F32 repacked in pairs of rows for the 512-bit path: each row keeps tinyBLAS's eight lanes in its half of the
/// accumulator, so one 512-bit fused multiply-add advances both rows by 8 values, and <see cref="Store"/> reduces each
/// half with hsum_float_8. Layout of one group step (64 bytes): row 0's 8 values, then row 1's. The F16 prompt panels
/// run here too (F16 groups of 4 rows widened into pairs: 111 GFLOP/s on 32 rows x 512 tokens at K = 2048 and 5632,
/// against 102 and 84 for a 4 x 6 tile of stepped rows, `kernel-rate F32`).
/// </summary>
[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx512, GemmGroups = 4, GemmColumns = 4)]
internal static unsafe class F32xF32_Avx512_X2
{
    public const int Rows = 2;
    public const int ValuesPerStep = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadWeights(byte* g) => Vector512.Load((float*)g);

    /// <summary>8 activations in both halves (vbroadcastf64x4 moves the same 32 bytes as the float form).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadActivations(byte* x) => Avx512F.BroadcastVector256ToVector512((double*)x).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> w, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(w, x, acc);

    /// <summary>Each row's eight lanes reduced as hsum_float_8 reduces them; only the rows that exist are written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> acc, float* y, int count)
    {
        y[0] = GgmlLanes.Sum(acc.GetLower());
        if (count > 1)
            y[1] = GgmlLanes.Sum(acc.GetUpper());
    }

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; a missing row is zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) =>
        RowSteps.Repack<float>(src, srcRowBytes, rowCount, Rows, k, dst, ValuesPerStep);
}

/// <summary>
/// The row-interleaved layout of the F32 and F16 kernels (F32 row pairs on the AVX-512 path, groups of 4 rows of F16
/// on both paths and of F32 on AVX2): per step of a group, each row's values in turn.
/// </summary>
internal static unsafe class RowSteps
{
    /// <summary>Where row <paramref name="r"/>'s values of step <paramref name="s"/> start in a group of <paramref name="rows"/> rows (in values).</summary>
    public static int Offset(int s, int r, int rows, int valuesPerStep) => (rows * s + r) * valuesPerStep;

    /// <summary>Writes one group of <paramref name="rows"/> rows from <paramref name="rowCount"/> rows of the file's layout; a missing row is zeros.</summary>
    public static void Repack<T>(byte* src, nint srcRowBytes, int rowCount, int rows, int k, byte* dst, int valuesPerStep)
        where T : unmanaged
    {
        var group = new Span<T>(dst, rows * k);
        group.Clear();
        for (int r = 0; r < rowCount; r++)
        {
            var row = new ReadOnlySpan<T>(src + r * srcRowBytes, k);
            for (int s = 0; s < k / valuesPerStep; s++)
                row.Slice(s * valuesPerStep, valuesPerStep).CopyTo(group.Slice(Offset(s, r, rows, valuesPerStep), valuesPerStep));
        }
    }
}

[KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Portable)]
internal static unsafe class F32xF32_Portable
{
    public const int ValuesPerStep = 8;

    /// <summary>8 values as two 128-bit halves.</summary>
    public readonly record struct Values(Vector128<float> Low, Vector128<float> High);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Values LoadWeights(byte* w) => new(Vector128.Load((float*)w), Vector128.Load((float*)w + 4));
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Values LoadActivations(byte* x) => LoadWeights(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8x128 MulAdd(in Values w, in Values x, Lanes8x128 acc) => Lanes8x128.MulAdd(w.Low, w.High, x.Low, x.High, acc);
}
