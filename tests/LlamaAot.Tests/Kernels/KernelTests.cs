using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Kernels;

/// <summary>
/// Every generated kernel against its format's scalar reference, on seeded random data, with tile edges (row and
/// column counts that are not multiples of the tile), tails (generic K that is not a multiple of the step) and
/// buffers that fault one byte past their end. Kernels of instruction sets this process cannot run are left out;
/// test.sh reruns this class with AVX-512 and then AVX2 switched off.
/// </summary>
[Trait("Category", "Isa")]
public unsafe class KernelTests
{
    /// <summary>
    /// How far a kernel may differ from the reference, relative to sum |w_i x_i|: float sums in another order.
    /// Integer paths are also checked bit for bit (<see cref="IntegerPathsAreExact"/>).
    /// </summary>
    private static readonly Dictionary<GgmlType, double> RelativeTolerance = new()
    {
        [GgmlType.F32] = 2e-6,
        [GgmlType.F16] = 2e-6,
        [GgmlType.BF16] = 2e-6,
        [GgmlType.Q8_0] = 2e-6,
        [GgmlType.Q4_0] = 2e-6,
        [GgmlType.IQ4_NL] = 2e-6,
        [GgmlType.IQ4_XS] = 2e-6,
        [GgmlType.Q4_K] = 2e-6,
        [GgmlType.Q5_K] = 2e-6,
        [GgmlType.Q6_K] = 2e-6,
        [GgmlType.Q2_K] = 2e-6,
        [GgmlType.Q3_K] = 2e-6,
        [GgmlType.Q4_1] = 2e-6,
        [GgmlType.Q5_0] = 2e-6,
        [GgmlType.Q5_1] = 2e-6,
    };

    public static TheoryData<string> Entries()
    {
        var data = new TheoryData<string>();
        foreach (var e in KernelRegistry.All.Where(e => KernelIsas.IsSupported(e.Isa)))
            data.Add(e.GemvName);
        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void MatchesReference(string gemvName)
    {
        var entry = KernelRegistry.All.Single(e => e.GemvName == gemvName);
        var format = Formats.Get(entry.Weights);
        // An interleaved kernel serves only whole steps (the AVX-512 F32 and F16 row pairs: K a multiple of 8).
        var ks = entry.IsSpecialized ? [entry.K] : GenericKs(format).Where(entry.Serves).ToArray();
        var random = new Random(HashCode.Combine(gemvName.Length, (int)entry.Weights, entry.K));
        foreach (int k in ks)
        {
            foreach (int rows in new[] { 1, 3, 4, 5, 9, 16, 33 })
                CheckGemv(entry, format, k, rows, random);
            foreach (var (rows, cols) in new[] { (1, 1), (4, 2), (5, 3), (9, 5), (17, 6), (5, 17) })
                CheckGemm(entry, format, k, rows, cols, random);
        }
    }

    public static TheoryData<string> GenericEntriesOnTheFileLayout()
    {
        var data = new TheoryData<string>();
        foreach (var e in KernelRegistry.All.Where(e => KernelIsas.IsSupported(e.Isa) && !e.IsSpecialized && !e.IsInterleaved))
            data.Add(e.GemvName);
        return data;
    }

    /// <summary>
    /// A K long enough that the matrix-matrix kernel goes through it in several blocks (its activations beyond half of
    /// L2), on more rows than a row block and more columns than a column run, with leftover rows, columns and a tail:
    /// every token's results are bit for bit those of the matrix-vector kernel (the parked accumulators resume the
    /// same steps in the same order).
    /// </summary>
    [Theory]
    [MemberData(nameof(GenericEntriesOnTheFileLayout))]
    public void MatrixProductsInKBlocksEqualMatrixVectorProducts(string gemvName)
    {
        var entry = KernelRegistry.All.Single(e => e.GemvName == gemvName);
        var format = Formats.Get(entry.Weights);
        int k = 16640 + format.BlockSize;
        const int rows = 37, cols = 70;
        var random = new Random(3);
        int wRowBytes = (int)format.RowBytes(k), xRowBytes = entry.Activations.RowBytes(k);
        var wq = new byte[(long)wRowBytes * rows];
        var xq = new byte[(long)xRowBytes * cols];
        for (int r = 0; r < rows; r++)
            format.Quantize(Gaussian(random, k), wq.AsSpan(r * wRowBytes, wRowBytes));
        for (int c = 0; c < cols; c++)
            entry.Activations.Quantize(Gaussian(random, k), xq.AsSpan(c * xRowBytes, xRowBytes));
        var batched = new float[rows * cols];
        var alone = new float[rows];
        fixed (byte* w = wq, x = xq)
        fixed (float* yb = batched, ya = alone)
        {
            entry.Gemm(w, x, yb, rows, cols, k, rows);
            for (int c = 0; c < cols; c++)
            {
                entry.Gemv(w, x + (long)c * xRowBytes, ya, rows, k);
                for (int r = 0; r < rows; r++)
                    Assert.True(BitConverter.SingleToInt32Bits(ya[r]) == BitConverter.SingleToInt32Bits(yb[c * rows + r]),
                        $"{gemvName}, K = {k}: token {c} row {r}: {yb[c * rows + r]:R}, alone {ya[r]:R}");
            }
        }
    }

    [Fact]
    public void EveryFormatHasGeneratedKernelsOnEverySupportedPath()
    {
        foreach (var format in Formats.All)
        {
            foreach (var isa in Enum.GetValues<KernelIsa>().Where(i => i != KernelIsa.Reference && KernelIsas.IsSupported(i)))
            {
                var generic = KernelRegistry.Find(format.Type, isa, 12345 * format.BlockSize, allowRepack: false);
                Assert.True(generic is { IsSpecialized: false, IsInterleaved: false }, $"{format.Type} has no generic {isa} kernel on the file's layout");
            }
        }
    }

    [Fact]
    public void SelectionPrefersTheSpecializedKernel()
    {
        var isa = KernelIsas.Best;
        var specialized = KernelRegistry.Find(GgmlType.Q4_0, isa, 4096, allowRepack: false);
        Assert.NotNull(specialized);
        Assert.True(specialized.IsSpecialized);
        Assert.EndsWith("<K4096>", specialized.GemvName);
        var generic = KernelRegistry.Find(GgmlType.Q4_0, isa, 4096 + 64, allowRepack: false);
        Assert.NotNull(generic);
        Assert.False(generic.IsSpecialized);
        Assert.EndsWith("<RunTimeK>", generic.GemvName);
    }

    [Fact]
    public void SelectionPrefersInterleavedKernelsWhenRepackingIsAllowed()
    {
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(i => i != KernelIsa.Reference && KernelIsas.IsSupported(i)))
        {
            var interleaved = KernelRegistry.All.Where(e => e.Isa == isa && e.IsInterleaved).Select(e => e.Weights).Distinct();
            foreach (var type in interleaved)
            {
                var chosen = KernelRegistry.Find(type, isa, 4096);
                Assert.True(chosen is { IsInterleaved: true, IsSpecialized: true }, $"{type} {isa}: {chosen?.GemvName}");
                Assert.False(KernelRegistry.Find(type, isa, 4096, allowRepack: false)!.IsInterleaved);
            }
        }
    }

    /// <summary>
    /// Quantized so that every block scale is exactly 1 and every quant a small integer, products and partial sums
    /// are integers far below 2^24, so a correct kernel is exact whatever its summation order: the integer paths
    /// must equal the reference bit for bit.
    /// </summary>
    [Theory]
    [MemberData(nameof(Entries))]
    public void IntegerPathsAreExact(string gemvName)
    {
        var entry = KernelRegistry.All.Single(e => e.GemvName == gemvName);
        var format = Formats.Get(entry.Weights);
        int k = entry.IsSpecialized ? entry.K : 9 * Math.Max(32, format.BlockSize);
        var random = new Random(7);
        const int rows = 5, cols = 2;
        var w = ScaleOneLevels.TryGetValue(format.Type, out var levels)
            ? OnLevels(random, rows * k, levels, ScaleOneWeight[format.Type][0])
            : SmallIntegers(random, rows * k, 7, format.BlockSize, ScaleOneWeight.GetValueOrDefault(format.Type, []), 0);
        var x = SmallIntegers(random, cols * k, 15, format.Activations.BlockSize, [127], 1);
        Assert.True(format.BlockSize == 1 || ScaleOneWeight.ContainsKey(format.Type) || ExactWeightBlocks.ContainsKey(format.Type),
            $"{format.Type} has no exact-integer weights: add it to ScaleOneWeight or ExactWeightBlocks");
        byte[]? blocks = null;
        if (ExactWeightBlocks.TryGetValue(format.Type, out var build))
        {
            blocks = new byte[format.RowBytes(k) * rows];
            for (int at = 0; at < blocks.Length; at += format.BlockBytes)
                build(random, blocks.AsSpan(at, format.BlockBytes));
        }
        RunAndCompare(entry, format, k, rows, 1, w, x.AsSpan(0, k).ToArray(), exact: true, weightBlocks: blocks);
        RunAndCompare(entry, format, k, rows, cols, w, x, exact: true, gemm: true, weightBlocks: blocks);
    }

    /// <summary>
    /// For formats whose quantizer cannot be steered to exact scales (the K-quants search their scales): weight
    /// blocks built by hand with small integer sub-block scales and power-of-two super-block scales, so that every
    /// partial sum of a row with |x| &lt;= 15 stays an integer far below 2^24.
    /// </summary>
    private static readonly Dictionary<GgmlType, Action<Random, Span<byte>>> ExactWeightBlocks = new()
    {
        [GgmlType.Q4_K] = Quants.Q4_KTests.ExactBlock,
        [GgmlType.Q5_K] = Quants.Q5_KTests.ExactBlock,
        [GgmlType.Q6_K] = Quants.Q6_KTests.ExactBlock,
        [GgmlType.Q2_K] = Quants.Q2_KTests.ExactBlock,
        [GgmlType.Q3_K] = Quants.Q3_KTests.ExactBlock,
    };

    /// <summary>
    /// Values that, placed at the start of every block among integers in [-7, 7], make the reference weight
    /// quantizer pick a block scale of exactly 1 (and an integer offset where the format has one).
    /// </summary>
    private static readonly Dictionary<GgmlType, float[]> ScaleOneWeight = new()
    {
        [GgmlType.Q4_0] = [-8],      // d = max / -8
        [GgmlType.Q8_0] = [127],     // d = amax / 127
        [GgmlType.Q4_1] = [-7, 8],   // m = min = -7, d = (max - min) / 15
        [GgmlType.Q5_0] = [-16],     // d = max / -16
        [GgmlType.Q5_1] = [-15, 16], // m = min = -15, d = (max - min) / 31
        [GgmlType.IQ4_NL] = [-127],  // with max = -127 the scale search tries id = 1 (see ScaleOneLevels)
        [GgmlType.IQ4_XS] = [-127],  // each sub-block as IQ4_NL; then d = -1/32 and every (ls - 32) = -32
    };

    /// <summary>
    /// Formats whose levels are a table, not evenly spaced integers: weights drawn from the levels, with the anchor in
    /// every 32-value sub-block (each searches its own scale), quantize back to themselves with a scale of 1.
    /// </summary>
    private static readonly Dictionary<GgmlType, sbyte[]> ScaleOneLevels = new()
    {
        [GgmlType.IQ4_NL] = BlockIQ4_NL.Values.ToArray(),
        [GgmlType.IQ4_XS] = BlockIQ4_NL.Values.ToArray(),
    };

    /// <summary>Values drawn from <paramref name="levels"/>, with <paramref name="anchor"/> first in every 32.</summary>
    private static float[] OnLevels(Random random, int n, sbyte[] levels, float anchor)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = i % 32 == 0 ? anchor : levels[random.Next(levels.Length)];
        return values;
    }

    /// <summary>Integers in [-limit, limit], with <paramref name="anchors"/> from <paramref name="anchorAt"/> on in every block.</summary>
    private static float[] SmallIntegers(Random random, int n, int limit, int blockSize, float[] anchors, int anchorAt)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = random.Next(-limit, limit + 1);
        if (blockSize > 1)
        {
            for (int b = 0; b < n; b += blockSize)
                anchors.CopyTo(values, b + anchorAt);
        }
        return values;
    }

    private static int[] GenericKs(WeightFormat format) => format.BlockSize == 1
        ? [1, 7, 16, 33, 172, 200, 300]
        : [format.BlockSize, 2 * format.BlockSize, 3 * format.BlockSize, 5 * format.BlockSize, 9 * format.BlockSize];

    private static void CheckGemv(KernelEntry entry, WeightFormat format, int k, int rows, Random random) =>
        RunAndCompare(entry, format, k, rows, 1, Gaussian(random, rows * k), Gaussian(random, k), exact: false);

    private static void CheckGemm(KernelEntry entry, WeightFormat format, int k, int rows, int cols, Random random) =>
        RunAndCompare(entry, format, k, rows, cols, Gaussian(random, rows * k), Gaussian(random, cols * k), exact: false, gemm: true);

    private static void RunAndCompare(KernelEntry entry, WeightFormat format, int k, int rows, int cols, float[] w, float[] x, bool exact, bool gemm = false,
        byte[]? weightBlocks = null)
    {
        var act = format.Activations;
        int wRowBytes = (int)format.RowBytes(k), xRowBytes = act.RowBytes(k), kernelXRowBytes = entry.Activations.RowBytes(k);
        var wq = new byte[(long)wRowBytes * rows];
        var xq = new byte[(long)xRowBytes * cols];
        if (weightBlocks is not null)
            weightBlocks.CopyTo(wq, 0);
        else
        {
            for (int r = 0; r < rows; r++)
                format.Quantize(w.AsSpan(r * k, k), wq.AsSpan(r * wRowBytes, wRowBytes));
        }
        for (int c = 0; c < cols; c++)
            act.Quantize(x.AsSpan(c * k, k), xq.AsSpan(c * xRowBytes, xRowBytes));

        // The kernel's inputs, in guarded memory: weights repacked when the kernel interleaves rows, activations in
        // the kernel's own format (values identical to the reference's, only laid out differently).
        int groups = (rows + entry.Rows - 1) / entry.Rows;
        using var kw = new GuardedBuffer((long)groups * entry.Rows * wRowBytes);
        using var kx = new GuardedBuffer((long)kernelXRowBytes * cols);
        using var y = new GuardedBuffer((long)rows * cols * sizeof(float));
        fixed (byte* src = wq)
        {
            if (entry.IsInterleaved)
            {
                for (int g = 0; g < groups; g++)
                    entry.Repack(src + (long)g * entry.Rows * wRowBytes, wRowBytes, Math.Min(entry.Rows, rows - g * entry.Rows), k, kw.Pointer + (long)g * entry.Rows * wRowBytes);
            }
            else
            {
                wq.CopyTo(kw.Bytes);
            }
        }
        for (int c = 0; c < cols; c++)
            entry.Activations.Quantize(x.AsSpan(c * k, k), kx.Bytes.Slice(c * kernelXRowBytes, kernelXRowBytes));

        if (gemm || cols > 1)
            entry.Gemm(kw.Pointer, kx.Pointer, (float*)y.Pointer, rows, cols, k, rows);
        else
            entry.Gemv(kw.Pointer, kx.Pointer, (float*)y.Pointer, rows, k);

        var wd = new float[k];
        for (int r = 0; r < rows; r++)
        {
            var wRow = wq.AsSpan(r * wRowBytes, wRowBytes);
            format.Dequantize(wRow, wd);
            for (int c = 0; c < cols; c++)
            {
                var xRow = xq.AsSpan(c * xRowBytes, xRowBytes);
                float expected = format.Dot(wRow, xRow);
                float actual = y.Floats[c * rows + r];
                string where = $"{entry.GemvName}/{entry.GemmName} k={k} rows={rows} cols={cols} at row {r} col {c}";
                if (exact)
                {
                    Assert.True(expected == actual, $"{where}: {actual} != reference {expected} (integer path must be exact)");
                    continue;
                }
                double magnitude = 0;
                for (int i = 0; i < k; i++)
                    magnitude += Math.Abs(wd[i] * x[c * k + i]);
                double tolerance = RelativeTolerance[format.Type] * (magnitude + 1e-3) * Math.Sqrt(k);
                Assert.True(Math.Abs(expected - actual) <= tolerance, $"{where}: {actual} vs reference {expected} (tolerance {tolerance:G3})");
            }
        }
    }

    private static float[] Gaussian(Random random, int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return values;
    }
}
