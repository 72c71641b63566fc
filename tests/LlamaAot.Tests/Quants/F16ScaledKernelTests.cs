using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// The F16 kernels that widen weights without rebias and meet activations scaled by 2^112 (chosen for matrices
/// without Inf or NaN) against the exact kernels of the same path: bit for bit on the edges of the half range
/// (subnormals, 65504, zeros of both signs, activations that round to Inf), and chosen only when every weight is
/// finite.
/// </summary>
[Trait("Category", "Isa")]
public unsafe class F16ScaledKernelTests
{
    public static TheoryData<KernelIsa> Isas() => [KernelIsa.Avx512, KernelIsa.Avx2];

    [Theory]
    [MemberData(nameof(Isas))]
    public void GiveTheExactKernelsResultsBitForBit(KernelIsa isa)
    {
        if (!KernelIsas.IsSupported(isa))
            return; // test.sh reruns with AVX-512 and AVX2 switched off
        var format = Formats.Get(GgmlType.F16);
        var random = new Random(12);
        foreach (int k in new[] { 256, 8 * 37, 8 * 37 + 5 }) // the last with a tail (the file's layout only)
        {
            const int rows = 6, cols = 5;
            var w = new byte[rows * format.RowBytes(k)];
            var halves = new ushort[rows * k];
            for (int i = 0; i < halves.Length; i++)
                halves[i] = EdgeHalf(random);
            Buffer.BlockCopy(halves, 0, w, 0, w.Length);
            var x = new float[cols * k];
            for (int i = 0; i < x.Length; i++)
                x[i] = EdgeActivation(random);
            x[(cols - 1) * k + 3] = 70000f; // rounds to Inf: the last token's outputs are Inf or NaN on both
            x[(cols - 2) * k + 5] = 65500f; // rounds to 65504, the largest half
            foreach (bool repack in new[] { false, true })
            {
                var exact = KernelRegistry.Find(GgmlType.F16, isa, k, repack, () => false)!;
                var scaled = KernelRegistry.Find(GgmlType.F16, isa, k, repack, () => true)!;
                Assert.False(exact.FiniteWeightsOnly);
                Assert.True(scaled.FiniteWeightsOnly, $"{isa}: no kernel for finite F16 weights");
                Assert.Equal(exact.Rows, scaled.Rows);
                var expected = Run(exact, w, x, rows, cols, k);
                var actual = Run(scaled, w, x, rows, cols, k);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                        $"{scaled.GemvName} k={k} output {i}: {actual[i]:R}, the exact kernel {exact.GemvName} gives {expected[i]:R}");
            }
        }
    }

    [Fact]
    public void WideningWithoutRebiasIsEveryFiniteHalfTimesTwoToTheMinus112()
    {
        var halves = Enumerable.Range(0, 1 << 16).Select(i => (ushort)i).Where(h => (h & 0x7c00) != 0x7c00).ToArray();
        var widened = new float[halves.Length];
        fixed (ushort* h = halves)
        fixed (float* y = widened)
            HalfVectors.ToSingleWithoutRebias(h, y, halves.Length);
        for (int i = 0; i < halves.Length; i++)
        {
            float value = Fp16.HalfBitsToSingle(halves[i]);
            Assert.True(BitConverter.SingleToInt32Bits(value) == BitConverter.SingleToInt32Bits(widened[i] * HalfVectors.TwoPow112),
                $"half 0x{halves[i]:x4}: {widened[i]:R} x 2^112 is not {value:R}");
        }
    }

    [Theory]
    [InlineData(0x7c00)] // +Inf
    [InlineData(0xfc00)] // -Inf
    [InlineData(0x7e00)] // NaN
    [InlineData(0xfd01)] // NaN with a payload
    public void AMatrixWithInfOrNanKeepsTheExactKernels(int special)
    {
        var format = Formats.Get(GgmlType.F16);
        const int k = 256;
        foreach (int rows in new[] { 4, 4100 }) // one chunk, and several checked in parallel
        {
            var halves = new ushort[rows * k];
            var random = new Random(rows);
            for (int i = 0; i < halves.Length; i++)
                halves[i] = (ushort)(random.Next(0, 0x7c00) | random.Next(2) << 15);
            fixed (ushort* h = halves)
            {
                var finite = KernelSelection.Select(format, k, KernelIsas.Best, allowRepack: true, (byte*)h, rows);
                Assert.Equal(KernelIsas.Best is KernelIsa.Avx512 or KernelIsa.Avx2, finite.FiniteWeightsOnly);
                foreach (int at in new[] { 0, halves.Length / 2 + 3, halves.Length - 1 })
                {
                    ushort kept = halves[at];
                    halves[at] = (ushort)special;
                    Assert.False(HalfVectors.AllFinite(h, halves.Length), $"0x{special:x4} at {at} not seen");
                    Assert.False(KernelSelection.Select(format, k, KernelIsas.Best, allowRepack: true, (byte*)h, rows).FiniteWeightsOnly);
                    halves[at] = kept;
                }
            }
        }
    }

    private static float[] Run(KernelEntry entry, byte[] w, float[] x, int rows, int cols, int k)
    {
        var format = Formats.Get(GgmlType.F16);
        int wRowBytes = (int)format.RowBytes(k), xRowBytes = entry.Activations.RowBytes(k);
        var kx = new byte[cols * xRowBytes];
        for (int c = 0; c < cols; c++)
            entry.Activations.Quantize(x.AsSpan(c * k, k), kx.AsSpan(c * xRowBytes, xRowBytes));
        var kw = entry.IsInterleaved ? GgmlX86DotModel.Repack(entry, w, wRowBytes, rows, k) : w;
        var (gemv, gemm) = GgmlX86DotModel.RunBoth(entry, kw, kx, rows, cols, k);
        return [.. gemv, .. gemm];
    }

    /// <summary>A finite half, often from the edges: subnormals, the largest, zeros of either sign.</summary>
    private static ushort EdgeHalf(Random random)
    {
        ushort sign = (ushort)(random.Next(2) << 15);
        return random.Next(8) switch
        {
            0 => (ushort)(sign | random.Next(1, 0x400)), // subnormal
            1 => (ushort)(sign | 0x7bff),                // 65504
            2 => sign,                                   // +-0
            _ => (ushort)(sign | random.Next(0x400, 0x7c00)),
        };
    }

    /// <summary>An activation, often from the edges: large, half subnormals, tiny floats that round to zero.</summary>
    private static float EdgeActivation(Random random) => random.Next(16) switch
    {
        0 => (random.Next(2) == 0 ? 1 : -1) * 60000f,
        1 => (float)(random.NextDouble() * 6e-5),
        2 => (float)(random.NextDouble() * 1e-9),
        _ => (float)(random.NextDouble() * 8 - 4),
    };
}
