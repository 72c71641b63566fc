using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// A scalar model of llama.cpp's x86 vec_dot kernels (ggml-cpu/arch/x86/quants.c, the __AVX2__ branches, which its
/// AVX-512 builds run too), used to check that the generated x86 kernels return llama.cpp's floats bit for bit.
/// <para>Each kernel keeps an 8-lane float accumulator <c>acc</c>: per block (32 values) or super-block (256), lane k
/// gets the exact integer sum of the products of the values e with (e % 32) / 4 == k, times their sub-block scale
/// for the K-quants, and <c>acc[k] = fma(d_w * d_x, lane, acc[k])</c>. Beside it: Q4_1 and Q5_1 sum their offsets
/// apart, <c>summs = fma(m_w, s_x, summs)</c> (compilers contract <c>summs += m * s</c> into one FMA; the 0.5.0 native
/// build does); Q5_K its mins the same way, <c>summs = fma(-(d_x * dmin), float(min sum), summs)</c>; Q4_K its mins
/// in 4 more lanes <c>acc_m</c>; Q2_K adds its mins into <c>acc</c> itself, just before the products. The result is
/// <c>hsum_float_8(acc)</c> = ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)), plus summs or
/// (m0 + m2) + (m1 + m3).</para>
/// </summary>
internal static unsafe class GgmlX86DotModel
{
    /// <summary>One 32-value block of a dot product: the 32 integer products, d_w * d_x, and the offset term if any.</summary>
    public readonly record struct Block(int[] Products, float Scale, float M = 0, float S = 0);

    /// <summary>The dot product of 32-value blocks (Q4_0 .. Q8_0, IQ4_NL; Q4_1 and Q5_1 with their offsets).</summary>
    public static float Dot(IEnumerable<Block> blocks, bool hasOffsets)
    {
        var acc = new Accumulators();
        foreach (var b in blocks)
        {
            acc.Lanes(b.Scale, Lanes(e => b.Products[e], 32));
            if (hasOffsets)
                acc.Summs(b.M, b.S);
        }
        return acc.Result;
    }

    /// <summary>
    /// The dot product of a row of K-quant super-blocks (<paramref name="type"/>: Q2_K .. Q6_K, IQ4_XS) with Q8_K
    /// activations: ggml_vec_dot_{type}_q8_K. d = d_x * d_w and dmin = -d_x * dmin_w are one float multiply each.
    /// </summary>
    public static float KQuantDot(GgmlType type, ReadOnlySpan<byte> row, ReadOnlySpan<BlockQ8_K> x)
    {
        var acc = new Accumulators();
        var q = new int[256];
        var scale = new int[256];
        var mins = new int[16];
        var qx = new int[256];
        var bsums = new int[16];
        int blockBytes = Formats.Get(type).BlockBytes;
        for (int i = 0; i < x.Length; i++)
        {
            var y = x[i];
            for (int e = 0; e < 256; e++)
                qx[e] = y.Qs[e];
            for (int j = 0; j < 16; j++)
                bsums[j] = y.BSums[j];
            var (d, dmin) = Unpack(type, row.Slice(i * blockBytes, blockBytes), q, scale, mins);
            // Q2_K's 8 min lanes: lane k = sub-blocks (of 16) 2k and 2k + 1, each min times its bsum (the activations'
            // sum of its 16 values), added into acc before the products.
            if (type == GgmlType.Q2_K)
                acc.Lanes(-y.D * dmin, Enumerable.Range(0, 8).Select(k => mins[2 * k] * bsums[2 * k] + mins[2 * k + 1] * bsums[2 * k + 1]).ToArray());
            int[] lanes = Lanes(e => scale[e] * (q[e] * qx[e]), 256);
            // Q6_K (0.5.0's q8sclsub): the quants stay 0..63 and lane k loses 32 * (the scales of sub-blocks 2k and
            // 2k + 1 times their bsums), which are not the values of lane k: the lanes differ from (q - 32) per value.
            if (type == GgmlType.Q6_K)
            {
                for (int k = 0; k < 8; k++)
                    lanes[k] -= 32 * (bsums[2 * k] * scale[32 * k] + bsums[2 * k + 1] * scale[32 * k + 16]);
            }
            acc.Lanes(y.D * d, lanes);
            // Q4_K's and Q5_K's 4 min lanes: lane p = sub-blocks (of 32) 2p and 2p + 1, each min times its two bsums.
            int MinLane(int p) => mins[2 * p] * (bsums[4 * p] + bsums[4 * p + 1]) + mins[2 * p + 1] * (bsums[4 * p + 2] + bsums[4 * p + 3]);
            if (type == GgmlType.Q4_K)
                acc.MinLanes(-y.D * dmin, Enumerable.Range(0, 4).Select(MinLane).ToArray());
            else if (type == GgmlType.Q5_K)
                acc.Summs(-y.D * dmin, Enumerable.Range(0, 4).Sum(MinLane));
        }
        return acc.Result;
    }

    /// <summary>
    /// A Q4_K row times Q8_K activations as llama.cpp's repacked product computes it (a Q4_K matrix whose row count is
    /// a multiple of 8, on any AVX2 CPU: ggml-cpu/arch/x86/repack.cpp): two float sums, acc = fma(float(S), d_w * d_x,
    /// acc) and acc_min = fma(float(M), dmin_w * d_x, acc_min), result acc - acc_min. S is the exact integer sum of
    /// scale * q * q_x, M of min * (sum of the sub-block's q_x, from the bsums); ggml_gemm_q4_K_8x8_q8_K's order, one
    /// FMA each per pair of sub-blocks (its gemv, which llama.cpp gives the last n % 4 tokens of a batch, adds once
    /// per super-block).
    /// </summary>
    public static float Q4_KRepackedDot(ReadOnlySpan<byte> row, ReadOnlySpan<BlockQ8_K> x)
    {
        var q = new int[256];
        var scale = new int[256];
        var mins = new int[16];
        float acc = 0, accMin = 0;
        for (int i = 0; i < x.Length; i++)
        {
            var y = x[i];
            var (d, dmin) = Unpack(GgmlType.Q4_K, row.Slice(i * sizeof(BlockQ4_K), sizeof(BlockQ4_K)), q, scale, mins);
            int s = 0, m = 0;
            for (int p = 0; p < 4; p++)
            {
                for (int e = 64 * p; e < 64 * p + 64; e++)
                    s += scale[e] * q[e] * y.Qs[e];
                for (int j = 2 * p; j < 2 * p + 2; j++)
                    m += mins[j] * (y.BSums[2 * j] + y.BSums[2 * j + 1]);
                acc = MathF.FusedMultiplyAdd(s, d * y.D, acc);
                accMin = MathF.FusedMultiplyAdd(m, dmin * y.D, accMin);
                s = m = 0;
            }
        }
        return acc - accMin;
    }

    /// <summary>
    /// The dot product of F32 rows (F16 rows widened, with F16-rounded activations, alike) as llama.cpp's tinyBLAS
    /// computes it on an AVX2 build (llamafile/sgemm.cpp, tinyBLAS&lt;8, __m256&gt;, for every token count): lane k
    /// gets <c>acc[k] = fma(w[e], x[e], acc[k])</c> for the values e with e % 8 == k, in order; then hsum, which for
    /// __m256 is hsum_float_8's tree.
    /// </summary>
    public static float TinyBlasDot(ReadOnlySpan<float> w, ReadOnlySpan<float> x)
    {
        var acc = new float[8];
        for (int e = 0; e < w.Length; e++)
            acc[e % 8] = MathF.FusedMultiplyAdd(w[e], x[e], acc[e % 8]);
        return HsumFloat8(acc);
    }

    /// <summary>hsum_float_8: ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).</summary>
    private static float HsumFloat8(float[] v) => ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));

    /// <summary>The 8 exact integer lanes of <paramref name="n"/> values: lane k sums the terms of values e with (e % 32) / 4 == k.</summary>
    private static int[] Lanes(Func<int, int> term, int n)
    {
        var lanes = new int[8];
        for (int e = 0; e < n; e++)
            lanes[e % 32 / 4] += term(e);
        return lanes;
    }

    /// <summary>llama.cpp's float variables of one dot product, updated as its loop updates them.</summary>
    private sealed class Accumulators
    {
        private readonly float[] _acc = new float[8];
        private readonly float[] _accM = new float[4];
        private float _summs;
        private bool _hasAccM, _hasSumms;

        /// <summary>acc = fma(d, float(lanes), acc).</summary>
        public void Lanes(float d, int[] lanes)
        {
            for (int k = 0; k < 8; k++)
                _acc[k] = MathF.FusedMultiplyAdd(d, lanes[k], _acc[k]);
        }

        /// <summary>acc_m = fma(dmin, float(mins), acc_m) (Q4_K).</summary>
        public void MinLanes(float dmin, int[] mins)
        {
            for (int p = 0; p < 4; p++)
                _accM[p] = MathF.FusedMultiplyAdd(dmin, mins[p], _accM[p]);
            _hasAccM = true;
        }

        /// <summary>summs = fma(a, b, summs) (Q4_1, Q5_1: m * s; Q5_K: dmin * float(min sum)).</summary>
        public void Summs(float a, float b)
        {
            _summs = MathF.FusedMultiplyAdd(a, b, _summs);
            _hasSumms = true;
        }

        public float Result
        {
            get
            {
                float sum = HsumFloat8(_acc);
                if (_hasAccM)
                    sum += (_accM[0] + _accM[2]) + (_accM[1] + _accM[3]);
                return _hasSumms ? sum + _summs : sum;
            }
        }
    }

    /// <summary>
    /// One super-block's quants (signed, but Q6_K's unsigned 0..63), per-value sub-block scales and (Q2_K: 16, Q4_K / Q5_K: 8) sub-block mins, from
    /// the block bytes as llama.cpp reads them; returns its d and dmin.
    /// </summary>
    private static (float D, float DMin) Unpack(GgmlType type, ReadOnlySpan<byte> block, int[] q, int[] scale, int[] mins)
    {
        switch (type)
        {
            case GgmlType.Q2_K:
            {
                var b = MemoryMarshal.Read<BlockQ2_K>(block);
                for (int e = 0; e < 256; e++)
                {
                    q[e] = (b.Qs[32 * (e / 128) + e % 32] >> (2 * (e % 128 / 32))) & 3;
                    scale[e] = b.Scales[e / 16] & 0x0F;
                }
                for (int s = 0; s < 16; s++)
                    mins[s] = b.Scales[s] >> 4;
                return (Fp16.HalfBitsToSingle(b.D), Fp16.HalfBitsToSingle(b.DMin));
            }
            case GgmlType.Q3_K:
            {
                var b = MemoryMarshal.Read<BlockQ3_K>(block);
                for (int e = 0; e < 256; e++)
                {
                    int n = e / 128, j = e % 128 / 32, l = e % 32;
                    int low = (b.Qs[32 * n + l] >> (2 * j)) & 3;
                    q[e] = ((b.HMask[l] >> (4 * n + j)) & 1) != 0 ? low : low - 4;
                    scale[e] = BlockQ3_K.Scale(b, e / 16);
                }
                return (Fp16.HalfBitsToSingle(b.D), 0);
            }
            case GgmlType.Q6_K:
            {
                var b = MemoryMarshal.Read<BlockQ6_K>(block);
                for (int e = 0; e < 256; e++)
                {
                    int n = e / 128, l = e % 32, part = e % 128 / 32;
                    int ql = b.Ql[64 * n + l + (part % 2) * 32];
                    int nibble = part < 2 ? ql & 0x0F : ql >> 4;
                    int high = b.Qh[32 * n + l] >> (2 * part) & 3;
                    q[e] = nibble | high << 4; // 0..63: the -32 is taken off per lane from the bsums
                    scale[e] = b.Scales[e / 16];
                }
                return (Fp16.HalfBitsToSingle(b.D), 0);
            }
            case GgmlType.IQ4_XS:
            {
                var b = MemoryMarshal.Read<BlockIQ4_XS>(block);
                for (int e = 0; e < 256; e++)
                {
                    int packed = b.Qs[16 * (e / 32) + e % 16];
                    q[e] = BlockIQ4_NL.Values[e % 32 < 16 ? packed & 0x0F : packed >> 4];
                    scale[e] = b.Scale(e / 32) - 32;
                }
                return (Fp16.HalfBitsToSingle(b.D), 0);
            }
            default:
            {
                // Q4_K, Q5_K: d, dmin, scales[12], (Q5_K: qh[32]), qs[128].
                var packed = block.Slice(4, KQuantScaleMin.Bytes);
                int qs = type == GgmlType.Q5_K ? 48 : 16;
                for (int e = 0; e < 256; e++)
                {
                    int c = e / 64, l = e % 32, upper = e % 64 / 32;
                    int b = block[qs + 32 * c + l];
                    q[e] = upper == 0 ? b & 0x0F : b >> 4;
                    if (type == GgmlType.Q5_K)
                        q[e] |= (block[16 + l] >> (2 * c + upper) & 1) << 4;
                    scale[e] = KQuantScaleMin.Get(e / 32, packed).Scale;
                }
                for (int j = 0; j < 8; j++)
                    mins[j] = KQuantScaleMin.Get(j, packed).Min;
                return (Fp16.HalfBitsToSingle(BitConverter.ToUInt16(block)), Fp16.HalfBitsToSingle(BitConverter.ToUInt16(block.Slice(2))));
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="type"/>'s generated kernels of <paramref name="isa"/> (gemv and gemm, a specialized K and a
    /// generic one, on the file's layout and, where the type has one and <paramref name="interleaved"/> is set, on the
    /// row-interleaved layout; the kernels for finite weights too) on seeded random data and asserts every output equals <paramref name="model"/> (weight
    /// row bytes, activation row bytes: the model's dot product) bit for bit.
    /// </summary>
    public static void AssertKernelsMatch(GgmlType type, KernelIsa isa, Func<byte[], byte[], float> model, bool interleaved = true)
    {
        if (!KernelIsas.IsSupported(isa))
            return; // test.sh reruns with AVX-512 and AVX2 switched off; this CPU cannot run the path
        var format = Formats.Get(type);
        var random = new Random((int)type * 31 + (int)isa);
        // A generic K of whole 8-value steps (F32, F16: llama.cpp takes tinyBLAS only then) and whole blocks.
        foreach (int k in new[] { 256, 7 * Math.Max(format.BlockSize, 32) })
        {
            // The kernels for any weights, and those for finite weights only where the type has them (the data is finite).
            var entries = new[] { false, true }.SelectMany(finite => new[]
                {
                    KernelRegistry.Find(type, isa, k, allowRepack: false, () => finite) ?? throw new InvalidOperationException($"no {isa} kernel for {type}"),
                    KernelRegistry.Find(type, isa, k, allowRepack: true, () => finite)!,
                })
                .Where(e => interleaved || !e.IsInterleaved).Distinct();
            foreach (var entry in entries)
            {
                Assert.Equal(k == 256, entry.IsSpecialized);
                const int rows = 5, cols = 3;
                int wRowBytes = (int)format.RowBytes(k), xRowBytes = format.Activations.RowBytes(k), kxRowBytes = entry.Activations.RowBytes(k);
                var w = new byte[rows * wRowBytes];
                var x = new byte[cols * xRowBytes];
                var kernelX = new byte[cols * kxRowBytes]; // the same values in the kernel's activation format
                for (int r = 0; r < rows; r++)
                    format.Quantize(Gaussian(random, k), w.AsSpan(r * wRowBytes, wRowBytes));
                for (int c = 0; c < cols; c++)
                {
                    var values = Gaussian(random, k);
                    format.Activations.Quantize(values, x.AsSpan(c * xRowBytes, xRowBytes));
                    entry.Activations.Quantize(values, kernelX.AsSpan(c * kxRowBytes, kxRowBytes));
                }
                var kernelWeights = entry.IsInterleaved ? Repack(entry, w, wRowBytes, rows, k) : w;
                var (gemv, gemm) = RunBoth(entry, kernelWeights, kernelX, rows, cols, k);
                for (int r = 0; r < rows; r++)
                {
                    byte[] wRow = w.AsSpan(r * wRowBytes, wRowBytes).ToArray();
                    for (int c = 0; c < cols; c++)
                    {
                        float expected = model(wRow, x.AsSpan(c * xRowBytes, xRowBytes).ToArray());
                        float actual = gemm[c * rows + r];
                        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
                            $"{entry.GemmName} k={k} row {r} col {c}: {actual:R}, llama.cpp's kernel gives {expected:R}");
                        if (c == 0)
                            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(gemv[r]),
                                $"{entry.GemvName} k={k} row {r}: {gemv[r]:R}, llama.cpp's kernel gives {expected:R}");
                    }
                }
            }
        }
    }

    /// <summary>The kernel's matrix-vector product of the first activation row, and its matrix-matrix product of all.</summary>
    public static (float[] Gemv, float[] Gemm) RunBoth(KernelEntry entry, byte[] w, byte[] x, int rows, int cols, int k)
    {
        var gemv = new float[rows];
        var gemm = new float[rows * cols];
        fixed (byte* wp = w, xp = x)
        fixed (float* yv = gemv, ym = gemm)
        {
            entry.Gemv(wp, xp, yv, rows, k);
            entry.Gemm(wp, xp, ym, rows, cols, k, rows);
        }
        return (gemv, gemm);
    }

    /// <summary>The rows in the kernel's interleaved groups, the last group padded as the model loader pads it.</summary>
    public static byte[] Repack(KernelEntry entry, byte[] w, int wRowBytes, int rows, int k)
    {
        int groups = (rows + entry.Rows - 1) / entry.Rows;
        var packed = new byte[groups * entry.Rows * wRowBytes];
        fixed (byte* src = w, dst = packed)
        {
            for (int g = 0; g < groups; g++)
                entry.Repack(src + g * entry.Rows * wRowBytes, wRowBytes, Math.Min(entry.Rows, rows - g * entry.Rows), k, dst + g * entry.Rows * wRowBytes);
        }
        return packed;
    }

    public static float[] Gaussian(Random random, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}
