using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// Shared checks of the K-quant tests (Q2_K to Q6_K): byte-exact quantization against the files llama-quantize
/// wrote (../shared/models/random-e256), and dot products against dequantize-then-float-dot.
/// </summary>
internal static class KQuantTestData
{
    public static string RandomE256(string type) => Path.Combine(Shared.Models, "random-e256", $"random-e256-l2-{type}.gguf");

    /// <summary>
    /// Quantizes, with the format's reference Quantize, every F32 tensor of random-e256-l2-F32.gguf whose
    /// counterpart in <paramref name="file"/> has type <paramref name="type"/>, and compares the bytes with
    /// llama.cpp's. A mismatch names the tensor and the first differing block. Returns the tensors compared.
    /// </summary>
    public static IReadOnlyList<string> AssertQuantizesLikeLlamaCpp(string file, GgmlType type)
    {
        var format = Formats.Get(type);
        using var source = GgufFile.Open(RandomE256("F32"));
        using var quantized = GgufFile.Open(RandomE256(file));
        var compared = new List<string>();
        foreach (var tensor in quantized.Tensors.Where(t => t.Type == type))
        {
            var f32 = source.FindTensor(tensor.Name) ?? throw new InvalidOperationException($"{tensor.Name} is not in the F32 file");
            Assert.Equal(GgmlType.F32, f32.Type);
            var values = MemoryMarshal.Cast<byte, float>(source.GetData(f32));
            var expected = quantized.GetData(tensor);
            var actual = new byte[expected.Length];
            format.Quantize(values, actual);
            int at = actual.AsSpan().CommonPrefixLength(expected);
            if (at < expected.Length)
            {
                int block = at / format.BlockBytes;
                long blocksPerRow = tensor.Columns / format.BlockSize;
                Assert.Fail($"{file}: {tensor.Name} ({type}) differs from llama.cpp first in block {block} (row {block / blocksPerRow}, " +
                    $"block {block % blocksPerRow} of the row), byte {at % format.BlockBytes} of the block: {actual[at]} vs {expected[at]}");
            }
            compared.Add(tensor.Name);
        }
        return compared;
    }

    /// <summary>
    /// Dequantizes llama.cpp's bytes of every <paramref name="type"/> tensor in <paramref name="file"/> and checks
    /// them against the F32 weights they were made from: RMS error / RMS weight at most <paramref name="maxRelativeRms"/>.
    /// </summary>
    public static void AssertDequantizesCloseToF32(string file, GgmlType type, double maxRelativeRms)
    {
        var format = Formats.Get(type);
        using var source = GgufFile.Open(RandomE256("F32"));
        using var quantized = GgufFile.Open(RandomE256(file));
        foreach (var tensor in quantized.Tensors.Where(t => t.Type == type))
        {
            var expected = MemoryMarshal.Cast<byte, float>(source.GetData(source.FindTensor(tensor.Name)!));
            var y = new float[expected.Length];
            format.Dequantize(quantized.GetData(tensor), y);
            double error = 0, energy = 0;
            for (int i = 0; i < y.Length; i++)
            {
                error += (y[i] - (double)expected[i]) * (y[i] - expected[i]);
                energy += (double)expected[i] * expected[i];
            }
            double relative = Math.Sqrt(error / energy);
            Assert.True(relative <= maxRelativeRms, $"{file}: {tensor.Name} dequantizes with relative RMS error {relative:G3} > {maxRelativeRms}");
        }
    }

    /// <summary>
    /// The reference Dot of quantized Gaussian rows against sum(dequantize(w) * dequantize(x)) in double: the two
    /// differ only by float rounding, far below the quantization noise.
    /// </summary>
    public static void AssertDotMatchesDequantized(GgmlType type, int seed)
    {
        var format = Formats.Get(type);
        var act = format.Activations;
        var random = new Random(seed);
        foreach (int blocks in new[] { 1, 2, 3, 7 })
        {
            int k = blocks * format.BlockSize;
            float[] w = Gaussian(random, k, 0.02), x = Gaussian(random, k, 1);
            // A block of exact zeros and a block with one huge value test the edges of the scale search.
            if (blocks == 7)
            {
                w.AsSpan(format.BlockSize, format.BlockSize).Clear();
                w[2 * format.BlockSize + 5] = 3;
            }
            var wq = new byte[format.RowBytes(k)];
            var xq = new byte[act.RowBytes(k)];
            format.Quantize(w, wq);
            act.Quantize(x, xq);
            var wd = new float[k];
            format.Dequantize(wq, wd);
            var xd = DequantizeQ8_K(xq);
            double expected = 0, magnitude = 0;
            for (int i = 0; i < k; i++)
            {
                expected += (double)wd[i] * xd[i];
                magnitude += Math.Abs((double)wd[i] * xd[i]);
            }
            float actual = format.Dot(wq, xq);
            Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude + 1e-9,
                $"{type} k={k}: Dot {actual} vs dequantized {expected} (sum |w x| {magnitude})");
        }
    }

    /// <summary>Q8_K activations back to floats: d * qs.</summary>
    public static unsafe float[] DequantizeQ8_K(ReadOnlySpan<byte> row)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_K>(row);
        var y = new float[blocks.Length * BlockQ8_K.BlockSize];
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            for (int j = 0; j < BlockQ8_K.BlockSize; j++)
                y[i * BlockQ8_K.BlockSize + j] = b.D * b.Qs[j];
        }
        return y;
    }

    public static float[] Gaussian(Random random, int n, double std)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return values;
    }
}
