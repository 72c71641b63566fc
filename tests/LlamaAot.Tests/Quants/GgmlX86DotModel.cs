using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// A scalar model of llama.cpp's x86 vec_dot for 32-value blocks (ggml-cpu-quants.c, the __AVX2__ branches, which its
/// AVX-512 builds run too): per block, lane k (k = 0..7) gets the exact integer sum of the products of values
/// 4k..4k+3, and <c>acc[k] = fma(d_w * d_x, lane, acc[k])</c>; the offsets of Q4_1/Q5_1 are summed apart,
/// <c>summs = fma(m_w, s_x, summs)</c> (compilers contract <c>summs += m * s</c> into one FMA); the result is
/// <c>hsum_float_8(acc) + summs</c> with hsum_float_8 = ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7)).
/// Used to check that the generated x86 kernels return llama.cpp's floats bit for bit.
/// </summary>
internal static unsafe class GgmlX86DotModel
{
    /// <summary>One block of a dot product: the 32 integer products, d_w * d_x, and the offset term if any.</summary>
    public readonly record struct Block(int[] Products, float Scale, float M = 0, float S = 0);

    public static float Dot(IEnumerable<Block> blocks, bool hasOffsets)
    {
        var acc = new float[8];
        float summs = 0;
        foreach (var b in blocks)
        {
            for (int k = 0; k < 8; k++)
                acc[k] = MathF.FusedMultiplyAdd(b.Scale, b.Products[4 * k] + b.Products[4 * k + 1] + b.Products[4 * k + 2] + b.Products[4 * k + 3], acc[k]);
            if (hasOffsets)
                summs = MathF.FusedMultiplyAdd(b.M, b.S, summs);
        }
        float hsum = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        return hasOffsets ? hsum + summs : hsum;
    }

    /// <summary>
    /// Runs <paramref name="type"/>'s generated kernels of <paramref name="isa"/> (gemv and gemm, a specialized K and
    /// a generic one, on the file's layout and, where the type has one, on the row-interleaved layout) on seeded random data and asserts every output equals <paramref name="model"/> (weight row
    /// bytes, activation row bytes: the model's dot product) bit for bit.
    /// </summary>
    public static void AssertKernelsMatch(GgmlType type, KernelIsa isa, Func<byte[], byte[], float> model)
    {
        if (!KernelIsas.IsSupported(isa))
            return; // test.sh reruns with AVX-512 and AVX2 switched off; this CPU cannot run the path
        var format = Formats.Get(type);
        var random = new Random((int)type * 31 + (int)isa);
        foreach (int k in new[] { 256, 7 * 32 })
        {
            var onFileLayout = KernelRegistry.Find(type, isa, k, allowRepack: false) ?? throw new InvalidOperationException($"no {isa} kernel for {type}");
            var best = KernelRegistry.Find(type, isa, k)!;
            foreach (var entry in best.IsInterleaved ? new[] { onFileLayout, best } : [onFileLayout])
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
    private static byte[] Repack(KernelEntry entry, byte[] w, int wRowBytes, int rows, int k)
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

    private static float[] Gaussian(Random random, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
}
