using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// The K-quant kernels that claim llama.cpp's float operations (AVX-512: Q4_K, Q5_K, Q6_K; AVX2: Q6_K) against a
/// scalar transcription of the AVX2 branches of ggml_vec_dot_q{4,5,6}_K_q8_K: 8 exact int lanes (lane = (e % 32) / 4),
/// acc = fma(d, lane, acc) per super-block, Q4_K's mins in 4 more lanes, Q5_K's in one float, then hsum_float_8.
/// Equal bit for bit, on every matrix-vector and matrix-matrix kernel of those paths (see KQuantSimd).
/// </summary>
[Trait("Category", "Isa")]
public unsafe class KQuantLlamaOrderTests
{
    /// <summary>
    /// Every such kernel this process can run (none on a CPU without AVX2; test.sh's portable rerun then checks
    /// nothing here, which is right: the portable kernels do not claim llama.cpp's order).
    /// </summary>
    [Fact]
    public void ComputesLlamaCppsFloatOperations()
    {
        // The row-interleaved Q4_K kernel keeps one exact integer per row and super-block instead of llama.cpp's
        // eight partial lanes (see Q4_K.Interleaved.cs); KernelTests holds it to the scalar reference.
        var entries = KernelRegistry.All.Where(e => KernelIsas.IsSupported(e.Isa) && !e.IsInterleaved
            && (e.Isa == KernelIsa.Avx512 && e.Weights is GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K
                || e.Isa == KernelIsa.Avx2 && e.Weights == GgmlType.Q6_K)).ToList();
        if (KernelIsas.IsSupported(KernelIsa.Avx512))
        {
            foreach (var type in new[] { GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K })
                Assert.Contains(entries, e => e.Weights == type && e.Isa == KernelIsa.Avx512 && !e.IsSpecialized);
        }
        if (KernelIsas.IsSupported(KernelIsa.Avx2))
            Assert.Contains(entries, e => e.Weights == GgmlType.Q6_K && e.Isa == KernelIsa.Avx2 && !e.IsSpecialized);
        foreach (var entry in entries)
            Check(entry);
    }

    private static void Check(KernelEntry entry)
    {
        string gemvName = entry.GemvName;
        var format = Formats.Get(entry.Weights);
        int k = entry.IsSpecialized ? entry.K : 5 * 256;
        const int rows = 6, cols = 3;
        var random = new Random(k + (int)entry.Weights);
        int wRowBytes = (int)format.RowBytes(k), xRowBytes = format.Activations.RowBytes(k);
        var w = new byte[rows * wRowBytes];
        var x = new byte[cols * xRowBytes];
        for (int r = 0; r < rows; r++)
            format.Quantize(KQuantTestData.Gaussian(random, k, 0.02), w.AsSpan(r * wRowBytes, wRowBytes));
        for (int c = 0; c < cols; c++)
            format.Activations.Quantize(KQuantTestData.Gaussian(random, k, 1), x.AsSpan(c * xRowBytes, xRowBytes));

        var (gemv, gemm) = GgmlX86DotModel.RunBoth(entry, w, x, rows, cols, k);
        for (int r = 0; r < rows; r++)
        {
            var wRow = w.AsSpan(r * wRowBytes, wRowBytes);
            float expected = LlamaAvx2Dot(entry.Weights, wRow, MemoryMarshal.Cast<byte, BlockQ8_K>(x.AsSpan(0, xRowBytes)));
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(gemv[r]), $"{gemvName} row {r}: {gemv[r]} vs llama.cpp {expected}");
            for (int c = 0; c < cols; c++)
            {
                expected = LlamaAvx2Dot(entry.Weights, wRow, MemoryMarshal.Cast<byte, BlockQ8_K>(x.AsSpan(c * xRowBytes, xRowBytes)));
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(gemm[c * rows + r]),
                    $"{entry.GemmName} row {r} col {c}: {gemm[c * rows + r]} vs llama.cpp {expected}");
            }
        }
    }

    /// <summary>The float operations of llama.cpp's AVX2 K-quant dot products, one super-block at a time.</summary>
    private static float LlamaAvx2Dot(GgmlType type, ReadOnlySpan<byte> row, ReadOnlySpan<BlockQ8_K> x)
    {
        var acc = new float[8];
        var accMins = new float[4];
        float summs = 0;
        var q = new int[256];
        var scale = new int[256];
        var mins = new int[8];
        int blockBytes = Formats.Get(type).BlockBytes;
        for (int i = 0; i < x.Length; i++)
        {
            var block = row.Slice(i * blockBytes, blockBytes);
            var (dBits, dminBits) = Unpack(type, block, q, scale, mins);
            var y = x[i];
            var lanes = new int[8];
            for (int e = 0; e < 256; e++)
                lanes[e % 32 / 4] += scale[e] * (q[e] * y.Qs[e]);
            float d = y.D * Fp16.HalfBitsToSingle(dBits);
            for (int l = 0; l < 8; l++)
                acc[l] = MathF.FusedMultiplyAdd(d, lanes[l], acc[l]);
            if (type == GgmlType.Q6_K)
                continue;
            float dmin = -y.D * Fp16.HalfBitsToSingle(dminBits);
            var prod = new int[4];
            for (int p = 0; p < 4; p++)
                prod[p] = mins[2 * p] * (y.BSums[4 * p] + y.BSums[4 * p + 1]) + mins[2 * p + 1] * (y.BSums[4 * p + 2] + y.BSums[4 * p + 3]);
            if (type == GgmlType.Q4_K)
            {
                for (int p = 0; p < 4; p++)
                    accMins[p] = MathF.FusedMultiplyAdd(dmin, prod[p], accMins[p]);
            }
            else
                summs = MathF.FusedMultiplyAdd(dmin, prod[0] + prod[1] + prod[2] + prod[3], summs);
        }
        // hsum_float_8: (a0 + a4) + (a2 + a6), (a1 + a5) + (a3 + a7), then those two.
        float sum = ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
        return type switch
        {
            GgmlType.Q4_K => sum + ((accMins[0] + accMins[2]) + (accMins[1] + accMins[3])),
            GgmlType.Q5_K => sum + summs,
            _ => sum,
        };
    }

    /// <summary>Signed quants (Q6_K: q - 32), per-value scales and the mins of one block; returns (d, dmin) bits.</summary>
    private static (ushort D, ushort DMin) Unpack(GgmlType type, ReadOnlySpan<byte> block, int[] q, int[] scale, int[] mins)
    {
        if (type == GgmlType.Q6_K)
        {
            // ql[128], qh[64], scales[16], d
            for (int e = 0; e < 256; e++)
            {
                int n = e / 128, l = e % 32, part = e % 128 / 32;
                int ql = block[64 * n + l + (part % 2) * 32];
                int nibble = part < 2 ? ql & 0x0F : ql >> 4;
                int high = block[128 + 32 * n + l] >> (2 * part) & 3;
                q[e] = (nibble | high << 4) - 32;
                scale[e] = (sbyte)block[192 + e / 16];
            }
            return (BitConverter.ToUInt16(block.Slice(208)), 0);
        }
        // d, dmin, scales[12], (Q5_K: qh[32]), qs[128]
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
        return (BitConverter.ToUInt16(block), BitConverter.ToUInt16(block.Slice(2)));
    }
}
