using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// IEEE half to float for a vector of zero-extended half bits, exactly (what vcvtph2ps does; .NET exposes no F16C
/// intrinsic): shift the exponent and mantissa into place, rebias by multiplying by 2^112 (which also normalizes
/// subnormals), restore Inf/NaN exponents, then the sign.
/// </summary>
internal static class HalfVectors
{
    /// <summary>2^112, exactly: the ratio of a half's value to its bits read as a float without rebias.</summary>
    public const float TwoPow112 = 5.192296858534828E+33f;
    private const uint InfOrNaN = 0x0f800000; // the half exponent 31, shifted into float position

    private const uint SmallestNormal = 0x38800000; // 2^-14, the smallest normal half, as float bits
    private const uint Overflow = 0x47800000;       // 2^16: a rounded magnitude this large is beyond the halves

    /// <summary>
    /// x rounded to the nearest half (ties to even) and widened back, lane by lane: exactly (float)(Half)x, the
    /// rounding llama.cpp applies to activations before half products (F16C's vcvtps2ph). Normal halves keep 10
    /// mantissa bits (the carry of the rounding may bump the exponent, up to infinity past 65504); below 2^-14 the
    /// halves are multiples of 2^-24, which adding and subtracting 0.5 rounds to; infinities and NaNs pass.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> RoundToHalf(Vector512<float> x)
    {
        var u = x.AsUInt32();
        var magnitude = u & Vector512.Create(0x7fffffffu);
        var normal = (magnitude + Vector512.Create(0x0fffu) + ((magnitude >> 13) & Vector512<uint>.One)) & Vector512.Create(0xffffe000u);
        normal = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(normal, Vector512.Create(Overflow)), Vector512.Create(0x7f800000u), normal);
        var half = Vector512.Create(0.5f);
        var small = ((magnitude.AsSingle() + half) - half).AsUInt32();
        var bits = Vector512.ConditionalSelect(Vector512.LessThan(magnitude, Vector512.Create(SmallestNormal)), small, normal);
        bits = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(0x7f800000u)), magnitude, bits);
        return (bits | (u & Vector512.Create(0x80000000u))).AsSingle();
    }

    /// <inheritdoc cref="RoundToHalf(Vector512{float})"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> RoundToHalf(Vector256<float> x)
    {
        var u = x.AsUInt32();
        var magnitude = u & Vector256.Create(0x7fffffffu);
        var normal = (magnitude + Vector256.Create(0x0fffu) + ((magnitude >> 13) & Vector256<uint>.One)) & Vector256.Create(0xffffe000u);
        normal = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(normal, Vector256.Create(Overflow)), Vector256.Create(0x7f800000u), normal);
        var half = Vector256.Create(0.5f);
        var small = ((magnitude.AsSingle() + half) - half).AsUInt32();
        var bits = Vector256.ConditionalSelect(Vector256.LessThan(magnitude, Vector256.Create(SmallestNormal)), small, normal);
        bits = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7f800000u)), magnitude, bits);
        return (bits | (u & Vector256.Create(0x80000000u))).AsSingle();
    }

    /// <summary>y[i] = x[i] rounded to the nearest half (<see cref="RoundToHalf(Vector512{float})"/>); y may be x.</summary>
    public static unsafe void RoundToHalf(float* x, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
                RoundToHalf(Vector512.Load(x + i)).Store(y + i);
        }
        for (; i + 8 <= n; i += 8)
            RoundToHalf(Vector256.Load(x + i)).Store(y + i);
        for (; i < n; i++)
            y[i] = (float)Fp16.ToHalf(x[i]);
    }

    /// <summary>y[i] = the half with bits h[i], for n values (<see cref="ToSingle(Vector512{uint})"/>).</summary>
    public static unsafe void ToSingle(ushort* h, float* y, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
                LoadAsSingle(h + i).Store(y + i);
        }
        for (; i + 4 <= n; i += 4)
            ToSingle(Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)(h + i)).AsUInt16())).Store(y + i);
        for (; i < n; i++)
            y[i] = Fp16.HalfBitsToSingle(h[i]);
    }

    /// <summary>
    /// 16 halves at p to floats, exactly, in fewer instructions than <see cref="ToSingle(Vector512{uint})"/> (the F16
    /// matrix-vector kernel is bound by this conversion): sign-extended to 32 bits and shifted left by 13, a half
    /// has its sign in bits 28..31 and its exponent and mantissa in float position, so clearing bits 28..30 leaves
    /// sign and magnitude; multiplying by 2^112 rebiases the exponent and normalizes subnormals. Half exponent 31
    /// (Inf, NaN) lands at 2^16 or more, which no finite half reaches (65504 is the largest): those get the float's
    /// all-ones exponent, keeping the mantissa.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> LoadAsSingle(ushort* p)
    {
        var bits = (Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)) << 13) & Vector512.Create(unchecked((int)0x8fffffff));
        var scaled = bits.AsSingle() * Vector512.Create(TwoPow112);
        var infOrNaN = Vector512.GreaterThanOrEqual(Vector512.Abs(scaled), Vector512.Create(65536f));
        return Vector512.ConditionalSelect(infOrNaN, (scaled.AsUInt32() | Vector512.Create(0x7f800000u)).AsSingle(), scaled);
    }

    /// <summary>4 halves at p to floats, exactly, as <see cref="LoadAsSingle"/> converts 16 (the Q8_0 row groups' scales).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector128<float> LoadAsSingle128(ushort* p)
    {
        var bits = (Sse41.ConvertToVector128Int32((short*)p) << 13) & Vector128.Create(unchecked((int)0x8fffffff));
        var scaled = bits.AsSingle() * Vector128.Create(TwoPow112);
        var infOrNaN = Vector128.GreaterThanOrEqual(Vector128.Abs(scaled), Vector128.Create(65536f));
        return Vector128.ConditionalSelect(infOrNaN, (scaled.AsUInt32() | Vector128.Create(0x7f800000u)).AsSingle(), scaled);
    }

    /// <summary>
    /// 8 finite halves at p, each as its value times 2^-112, in three instructions (sign-extending load, shift, and;
    /// see <see cref="LoadAsSingle"/>): the float's exponent is the half's, not rebiased, so the value is scaled by
    /// 2^-112 exactly (half subnormals become float subnormals of the same mantissa). Half Inf and NaN come out as
    /// finite floats: only for weights checked by <see cref="AllFinite"/>. Multiplied by a float scaled by 2^112,
    /// the product is the product of the half's value, bit for bit (<see cref="F16ScaledActivation"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> LoadWithoutRebias256(ushort* p) =>
        ((Avx2.ConvertToVector256Int32((short*)p) << 13) & Vector256.Create(unchecked((int)0x8fffffff))).AsSingle();

    /// <summary>16 finite halves at p, each as its value times 2^-112 (<see cref="LoadWithoutRebias256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> LoadWithoutRebias512(ushort* p) =>
        ((Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)) << 13) & Vector512.Create(unchecked((int)0x8fffffff))).AsSingle();

    /// <summary>y[i] = the finite half h[i] times 2^-112 (<see cref="LoadWithoutRebias256"/>), for n values.</summary>
    public static unsafe void ToSingleWithoutRebias(ushort* h, float* y, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
                LoadWithoutRebias512(h + i).Store(y + i);
        }
        if (Avx2.IsSupported)
        {
            for (; i + 8 <= n; i += 8)
                LoadWithoutRebias256(h + i).Store(y + i);
        }
        for (; i < n; i++)
            y[i] = Fp16.HalfBitsToSingle(h[i]) * (1 / TwoPow112);
    }

    /// <summary>
    /// <paramref name="groups"/> groups of <paramref name="fromRows"/> rows (<see cref="RowSteps"/>,
    /// <paramref name="valuesPerStep"/> halves a step) widened into groups of <paramref name="toRows"/> rows, which
    /// divides fromRows (1: the file's layout): exactly, or (<paramref name="withoutRebias"/>) each finite half times
    /// 2^-112 (<see cref="LoadWithoutRebias256"/>). Per step, each run of toRows rows' values is contiguous in both
    /// layouts and moves whole.
    /// </summary>
    public static unsafe void ToSingleRegrouped(ushort* src, float* dst, int groups, int fromRows, int toRows, int k, int valuesPerStep, bool withoutRebias)
    {
        int steps = k / valuesPerStep, run = toRows * valuesPerStep;
        for (int g = 0; g < groups; g++)
        {
            for (int s = 0; s < steps; s++)
            {
                for (int t = 0; t < fromRows; t += toRows)
                {
                    ushort* h = src + (long)g * fromRows * k + RowSteps.Offset(s, t, fromRows, valuesPerStep);
                    // The run's first row starts a group of toRows rows: that group, then its step s.
                    float* y = dst + (long)(g * fromRows + t) * k + RowSteps.Offset(s, 0, toRows, valuesPerStep);
                    if (withoutRebias)
                        ToSingleWithoutRebias(h, y, run);
                    else
                        ToSingle(h, y, run);
                }
            }
        }
    }

    /// <summary>Whether none of the n halves at h is Inf or NaN (exponent bits all ones); large arrays in parallel.</summary>
    public static unsafe bool AllFinite(ushort* h, long n)
    {
        const long Chunk = 1 << 20;
        if (n <= Chunk)
            return AllFiniteRange(h, n);
        bool finite = true;
        Parallel.For(0, (n + Chunk - 1) / Chunk, (c, state) =>
        {
            long start = c * Chunk;
            if (!AllFiniteRange(h + start, Math.Min(Chunk, n - start)))
            {
                finite = false;
                state.Stop();
            }
        });
        return finite;
    }

    private static unsafe bool AllFiniteRange(ushort* h, long n)
    {
        const ushort Exponent = 0x7c00;
        long i = 0;
        var exponent = Vector256.Create(Exponent);
        for (; i + 64 <= n; i += 64)
        {
            var any = Vector256.Equals(Vector256.Load(h + i) & exponent, exponent)
                | Vector256.Equals(Vector256.Load(h + i + 16) & exponent, exponent)
                | Vector256.Equals(Vector256.Load(h + i + 32) & exponent, exponent)
                | Vector256.Equals(Vector256.Load(h + i + 48) & exponent, exponent);
            if (any != Vector256<ushort>.Zero)
                return false;
        }
        for (; i < n; i++)
        {
            if ((h[i] & Exponent) == Exponent)
                return false;
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector512<uint> h)
    {
        var magnitude = (h & Vector512.Create(0x7fffu)) << 13;
        var scaled = (magnitude.AsSingle() * Vector512.Create(TwoPow112)).AsUInt32();
        var bits = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(InfOrNaN)), magnitude | Vector512.Create(0x7f800000u), scaled);
        return (bits | ((h & Vector512.Create(0x8000u)) << 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector256<uint> h)
    {
        var magnitude = (h & Vector256.Create(0x7fffu)) << 13;
        var scaled = (magnitude.AsSingle() * Vector256.Create(TwoPow112)).AsUInt32();
        var bits = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(InfOrNaN)), magnitude | Vector256.Create(0x7f800000u), scaled);
        return (bits | ((h & Vector256.Create(0x8000u)) << 16)).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToSingle(Vector128<uint> h)
    {
        var magnitude = (h & Vector128.Create(0x7fffu)) << 13;
        var scaled = (magnitude.AsSingle() * Vector128.Create(TwoPow112)).AsUInt32();
        var bits = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(magnitude, Vector128.Create(InfOrNaN)), magnitude | Vector128.Create(0x7f800000u), scaled);
        return (bits | ((h & Vector128.Create(0x8000u)) << 16)).AsSingle();
    }
}

// F16 weights x F16-rounded activations (stored as floats): convert a vector of halves, fused multiply-add, in the
// order of llama.cpp's tinyBLAS on an AVX2 build (tinyBLAS<8, __m256> with F16C, for one token or many), which is
// the F32 kernels' order (see F32.Simd.cs): so the prompt panels, widened to floats for the F32 kernels (MatMul),
// give what these kernels give.

[KernelPrimitives(typeof(BlockF16), typeof(F16Activation), KernelIsa.Avx2)]
internal static unsafe class F16xF16_Avx2
{
    public const int ValuesPerStep = 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => HalfVectors.ToSingle(Avx2.ConvertToVector256Int32((ushort*)w).AsUInt32());
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => F32xF32_Avx2.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => F32xF32_Avx2.Sum(acc);
}

/// <summary>The file's layout on the AVX-512 path (token tables that are also the output): the AVX2 primitives.</summary>
[KernelPrimitives(typeof(BlockF16), typeof(F16Activation), KernelIsa.Avx512, GemmRows = 4, GemmColumns = 3)]
internal static unsafe class F16xF16_Avx512
{
    public const int ValuesPerStep = F16xF16_Avx2.ValuesPerStep;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => F16xF16_Avx2.LoadWeights(w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => F16xF16_Avx2.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => F32xF32_Avx2.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => F32xF32_Avx2.Sum(acc);
}

/// <summary>
/// F16 in groups of 4 rows on the AVX-512 path: <see cref="F16xF16_Avx2_X4"/>'s layout and primitives, with tiles of
/// 4 rows x 4 tokens (32 registers). Generation reads a group as one stream; row pairs in 512-bit lanes read K = 5632
/// at 15.2 GB/s against 17.7 for these groups (`kernel-rate F16 5632 268435456`, one core, AMD EPYC), and TinyLlama
/// F16 generation at one thread went 10.8-11.0 -> 12.2-12.4 tokens/s. Prompts widen the groups into the F32 row pairs
/// of <see cref="F32xF32_Avx512_X2"/> (MatMul's panels).
/// </summary>
[KernelPrimitives(typeof(BlockF16), typeof(F16Activation), KernelIsa.Avx512, GemmColumns = 4)]
internal static unsafe class F16xF16_Avx512_X4
{
    public const int Rows = F16xF16_Avx2_X4.Rows;
    public const int ValuesPerStep = F16xF16_Avx2_X4.ValuesPerStep;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16xF16_Avx2_X4.Weights LoadWeights(byte* g) => F16xF16_Avx2_X4.LoadWeights(g);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => F16xF16_Avx2_X4.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes4PerRow MulAdd(in F16xF16_Avx2_X4.Weights w, Vector256<float> x, Lanes4PerRow acc) => F16xF16_Avx2_X4.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes4PerRow acc, float* y, int count) => acc.Store(y, count);
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => F16xF16_Avx2_X4.Repack(src, srcRowBytes, rowCount, k, dst);
}

// The same products with three instructions per 8 weights instead of ten: weights widened without rebias (their
// values times 2^-112, HalfVectors.LoadWithoutRebias256) meet activations rounded to half and scaled by 2^112
// (F16ScaledActivation). Every product, so every sum, is the exact kernels' bit for bit; chosen for matrices
// without Inf or NaN weights, which would widen to finite values here.

[KernelPrimitives(typeof(BlockF16), typeof(F16ScaledActivation), KernelIsa.Avx2, FiniteWeightsOnly = true)]
internal static unsafe class F16xF16Scaled_Avx2
{
    public const int ValuesPerStep = 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => HalfVectors.LoadWithoutRebias256((ushort*)w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => F32xF32_Avx2.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => F32xF32_Avx2.Sum(acc);

    /// <summary>Tails: <see cref="BlockF16.Dot"/> on the activations' values (x / 2^112, exact).</summary>
    public static float Dot(ReadOnlySpan<BlockF16> w, ReadOnlySpan<F16ScaledActivation> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
            sum += Fp16.HalfBitsToSingle(w[i].Bits) * (x[i].Value * (1 / HalfVectors.TwoPow112));
        return sum;
    }
}

/// <summary>
/// F16 in groups of 4 rows for the AVX2 path (<see cref="RowSteps"/>: per step of 64 bytes, each row's 8 halves in
/// turn). Generation reads a group as one stream from memory, where the file's layout read 4 rows as 4 streams
/// (15-16 GB/s, one core, `kernel-rate F16 2048 268435456` without AVX-512). Each row keeps tinyBLAS's 8-lane
/// accumulator (a vector of <see cref="Lanes4PerRow"/>), so every row's result is the file-layout kernel's bit for bit.
/// Prompts of 16 tokens and more widen the groups value by value for the F32 kernels of the same layout
/// (<see cref="F32xF32_Avx2_X4"/>, MatMul's panels); smaller batches run tiles of 4 rows x 2 tokens on the weights
/// converted once per step.
/// </summary>
[KernelPrimitives(typeof(BlockF16), typeof(F16Activation), KernelIsa.Avx2, GemmColumns = 2)]
internal static unsafe class F16xF16_Avx2_X4
{
    public const int Rows = 4;
    public const int ValuesPerStep = 8;

    /// <summary>One step of the 4 rows, as floats.</summary>
    public readonly struct Weights(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3)
    {
        public readonly Vector256<float> R0 = r0, R1 = r1, R2 = r2, R3 = r3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g) =>
        new(F16xF16_Avx2.LoadWeights(g), F16xF16_Avx2.LoadWeights(g + 16), F16xF16_Avx2.LoadWeights(g + 32), F16xF16_Avx2.LoadWeights(g + 48));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes4PerRow MulAdd(in Weights w, Vector256<float> x, Lanes4PerRow acc) =>
        new(Vector256.FusedMultiplyAdd(w.R0, x, acc.R0), Vector256.FusedMultiplyAdd(w.R1, x, acc.R1),
            Vector256.FusedMultiplyAdd(w.R2, x, acc.R2), Vector256.FusedMultiplyAdd(w.R3, x, acc.R3));

    /// <summary>Each row's eight lanes reduced as hsum_float_8 reduces them; only the rows that exist are written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes4PerRow acc, float* y, int count) => acc.Store(y, count);

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; a missing row is zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) =>
        RowSteps.Repack<ushort>(src, srcRowBytes, rowCount, Rows, k, dst, ValuesPerStep);
}

/// <summary>Groups of 4 rows on the AVX2 path (<see cref="F16xF16_Avx2_X4"/>), finite weights.</summary>
[KernelPrimitives(typeof(BlockF16), typeof(F16ScaledActivation), KernelIsa.Avx2, GemmColumns = 2, FiniteWeightsOnly = true)]
internal static unsafe class F16xF16Scaled_Avx2_X4
{
    public const int Rows = F16xF16_Avx2_X4.Rows;
    public const int ValuesPerStep = F16xF16_Avx2_X4.ValuesPerStep;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F16xF16_Avx2_X4.Weights LoadWeights(byte* g)
    {
        var h = (ushort*)g;
        return new(HalfVectors.LoadWithoutRebias256(h), HalfVectors.LoadWithoutRebias256(h + 8),
            HalfVectors.LoadWithoutRebias256(h + 16), HalfVectors.LoadWithoutRebias256(h + 24));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes4PerRow MulAdd(in F16xF16_Avx2_X4.Weights w, Vector256<float> x, Lanes4PerRow acc) => F16xF16_Avx2_X4.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes4PerRow acc, float* y, int count) => acc.Store(y, count);
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => F16xF16_Avx2_X4.Repack(src, srcRowBytes, rowCount, k, dst);
}

/// <summary>The file's layout on the AVX-512 path, finite weights: the AVX2 primitives with AVX-512's wider tiles.</summary>
[KernelPrimitives(typeof(BlockF16), typeof(F16ScaledActivation), KernelIsa.Avx512, GemmRows = 4, GemmColumns = 3, FiniteWeightsOnly = true)]
internal static unsafe class F16xF16Scaled_Avx512
{
    public const int ValuesPerStep = F16xF16Scaled_Avx2.ValuesPerStep;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWeights(byte* w) => F16xF16Scaled_Avx2.LoadWeights(w);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => F16xF16Scaled_Avx2.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => F32xF32_Avx2.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> acc) => F32xF32_Avx2.Sum(acc);
    public static float Dot(ReadOnlySpan<BlockF16> w, ReadOnlySpan<F16ScaledActivation> x) => F16xF16Scaled_Avx2.Dot(w, x);
}

/// <summary>Groups of 4 rows on the AVX-512 path (<see cref="F16xF16_Avx512_X4"/>), finite weights.</summary>
[KernelPrimitives(typeof(BlockF16), typeof(F16ScaledActivation), KernelIsa.Avx512, GemmColumns = 4, FiniteWeightsOnly = true)]
internal static unsafe class F16xF16Scaled_Avx512_X4
{
    public const int Rows = F16xF16_Avx2_X4.Rows;
    public const int ValuesPerStep = F16xF16_Avx2_X4.ValuesPerStep;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F16xF16_Avx2_X4.Weights LoadWeights(byte* g) => F16xF16Scaled_Avx2_X4.LoadWeights(g);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadActivations(byte* x) => F16xF16Scaled_Avx2_X4.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes4PerRow MulAdd(in F16xF16_Avx2_X4.Weights w, Vector256<float> x, Lanes4PerRow acc) => F16xF16_Avx2_X4.MulAdd(w, x, acc);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Lanes4PerRow acc, float* y, int count) => acc.Store(y, count);
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => F16xF16_Avx2_X4.Repack(src, srcRowBytes, rowCount, k, dst);
}

[KernelPrimitives(typeof(BlockF16), typeof(F16Activation), KernelIsa.Portable)]
internal static unsafe class F16xF16_Portable
{
    public const int ValuesPerStep = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static F32xF32_Portable.Values LoadWeights(byte* w) => new(Widen(w), Widen(w + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Widen(byte* w) => HalfVectors.ToSingle(Vector128.WidenLower(Vector128.CreateScalar(*(ulong*)w).AsUInt16()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static F32xF32_Portable.Values LoadActivations(byte* x) => F32xF32_Portable.LoadActivations(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Lanes8x128 MulAdd(in F32xF32_Portable.Values w, in F32xF32_Portable.Values x, Lanes8x128 acc) => F32xF32_Portable.MulAdd(w, x, acc);
}
