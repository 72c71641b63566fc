using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Model;
using LlamaAot.Quants;
using LlamaAot.Threading;

namespace LlamaAot.Tests.Model;

public unsafe class MatMulTests
{
    /// <summary>Every one of the 65536 halves widens to the float the scalar conversion gives (vector and tail paths).</summary>
    [Fact]
    public void Widening_halves_in_vectors_is_exact_for_every_half()
    {
        var halves = new ushort[65536 + 3]; // + 3: the scalar tail runs too
        for (int i = 0; i < halves.Length; i++)
            halves[i] = (ushort)i;
        var floats = new float[halves.Length];
        fixed (ushort* h = halves)
        fixed (float* y = floats)
            HalfVectors.ToSingle(h, y, halves.Length);
        for (int i = 0; i < halves.Length; i++)
        {
            float expected = Fp16.HalfBitsToSingle(halves[i]);
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(floats[i]) || float.IsNaN(expected) && float.IsNaN(floats[i]),
                $"half 0x{halves[i]:x4}: {floats[i]:R}, expected {expected:R}");
        }
    }

    /// <summary>Every half, four at a time through the short conversion of the Q8_0 row groups' scales, widens exactly.</summary>
    [Fact]
    public void Widening_four_halves_at_a_time_is_exact_for_every_half()
    {
        if (!System.Runtime.Intrinsics.X86.Sse41.IsSupported)
            return;
        var halves = new ushort[65536];
        for (int i = 0; i < halves.Length; i++)
            halves[i] = (ushort)i;
        fixed (ushort* h = halves)
        {
            for (int i = 0; i < halves.Length; i += 4)
            {
                var floats = HalfVectors.LoadAsSingle128(h + i);
                for (int j = 0; j < 4; j++)
                {
                    float expected = Fp16.HalfBitsToSingle(halves[i + j]);
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(floats[j]) || float.IsNaN(expected) && float.IsNaN(floats[j]),
                        $"half 0x{halves[i + j]:x4}: {floats[j]:R}, expected {expected:R}");
                }
            }
        }
    }

    /// <summary>
    /// F16 prompts go, on every path, through rows widened to floats and the F32 kernels (MatMul's panels: groups of 4
    /// rows widened into row pairs on AVX-512, groups of 4 stepped rows on AVX2, the file's layout on the portable
    /// path); each token's products must be bit for bit the F16 kernel's
    /// one-token products (the same products summed in the same lanes). Category Isa: test.sh runs it on every path.
    /// </summary>
    [Theory]
    [Trait("Category", "Isa")]
    [InlineData(1)]
    [InlineData(2)]
    public void F16_prompt_products_through_widened_panels_agree_with_one_token_products(int threads)
    {
        using var file = GgufFile.Open(Shared.Stories260K("F16"));
        using var w = WeightMatrix.Load(file, "blk.0.ffn_up.weight", 64, 172, KernelIsas.Best);
        Assert.NotNull(w.PanelKernels);
        const int tokens = 37; // above the panel threshold, not a multiple of any tile
        var random = new Random(5);
        var x = new float[tokens * w.K];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(random.NextDouble() * 2 - 1);
        var batched = new float[tokens * w.Rows];
        var single = new float[w.Rows];
        using var pool = new WorkerPool(threads);
        using var matMul = new MatMul(pool);
        fixed (float* xp = x, yb = batched, ys = single)
        {
            matMul.Run(xp, tokens, new MatMulTarget(w, yb));
            for (int t = 0; t < tokens; t++)
            {
                matMul.Run(xp + t * w.K, 1, new MatMulTarget(w, ys));
                for (int r = 0; r < w.Rows; r++)
                    Assert.True(BitConverter.SingleToInt32Bits(batched[t * w.Rows + r]) == BitConverter.SingleToInt32Bits(single[r]),
                        $"token {t} row {r}: {batched[t * w.Rows + r]:R} batched, {single[r]:R} alone");
            }
        }
    }

    /// <summary>
    /// F16 groups of 4 rows widened into smaller groups for the prompt panels (the AVX-512 path's F32 row pairs; single
    /// rows, the file's layout): 7 rows (a last group of 3) repacked and widened give every row's halves as floats,
    /// exactly or times 2^-112, in the target layout, and the last group's missing row as the zeros it was repacked as.
    /// </summary>
    [Theory]
    [InlineData(2, false)]
    [InlineData(2, true)]
    [InlineData(1, false)]
    public void F16_groups_widen_into_smaller_groups(int toRows, bool withoutRebias)
    {
        const int rows = 7, group = 4, k = 24, step = 8;
        var random = new Random(3);
        var halves = new ushort[rows * k];
        for (int i = 0; i < halves.Length; i++)
            halves[i] = (ushort)(random.Next(0x7c00) | (random.Next(2) << 15)); // finite, either sign
        var groups = new ushort[2 * group * k];
        var widened = new float[(2 * group + 1) * k];
        Array.Fill(widened, 7f);
        fixed (ushort* h = halves, g = groups)
        fixed (float* y = widened)
        {
            for (int first = 0; first < rows; first += group)
                RowSteps.Repack<ushort>((byte*)(h + first * k), k * sizeof(ushort), Math.Min(group, rows - first), group, k, (byte*)(g + first * k), step);
            HalfVectors.ToSingleRegrouped(g, y, 2, group, toRows, k, step, withoutRebias);
        }
        for (int r = 0; r < 2 * group; r++)
        {
            for (int i = 0; i < k; i++)
            {
                float expected = r < rows ? Fp16.HalfBitsToSingle(halves[r * k + i]) * (withoutRebias ? 1 / HalfVectors.TwoPow112 : 1) : 0;
                int at = r / toRows * toRows * k + RowSteps.Offset(i / step, r % toRows, toRows, step) + i % step;
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(widened[at]), $"row {r} value {i}: {widened[at]:R}, expected {expected:R}");
            }
        }
        Assert.All(widened[(2 * group * k)..], v => Assert.Equal(7f, v));
    }
}
