using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// Byte-exact quantization against llama-quantize: the F32 tensors of random-e256-l2-F32.gguf, quantized by a
/// format's reference <c>Quantize</c>, must equal the tensors of the same name and type in a file llama.cpp b4748
/// quantized from it (../shared/models/random-e256, no importance matrix).
/// </summary>
internal static class LlamaQuantizeFiles
{
    public static string RandomE256(string type) => Path.Combine(Shared.Models, "random-e256", $"random-e256-l2-{type}.gguf");

    /// <summary>
    /// Quantizes every <paramref name="type"/> tensor of the llama.cpp file from the F32 file and compares bytes;
    /// on a mismatch names the tensor and its first differing block. Returns how many tensors were compared.
    /// </summary>
    public static int AssertMatches(GgmlType type, string quantizedFile)
    {
        var format = Formats.Get(type);
        using var f32 = GgufFile.Open(RandomE256("F32"));
        using var quantized = GgufFile.Open(RandomE256(quantizedFile));
        int compared = 0;
        foreach (var tensor in quantized.Tensors.Where(t => t.Type == type))
        {
            var source = f32.FindTensor(tensor.Name);
            Assert.True(source is { Type: GgmlType.F32 }, $"{tensor.Name}: no F32 source tensor");
            Assert.Equal(tensor.Shape, source.Shape);
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f32.GetData(source));
            var expected = quantized.GetData(tensor);
            var actual = new byte[expected.Length];
            int k = (int)tensor.Columns;
            int rowBytes = (int)format.RowBytes(k);
            for (long r = 0; r < tensor.Rows; r++)
                format.Quantize(values.Slice((int)(r * k), k), actual.AsSpan((int)(r * rowBytes), rowBytes));

            int firstDiff = expected.CommonPrefixLength(actual);
            if (firstDiff != expected.Length)
            {
                int block = firstDiff / format.BlockBytes;
                Assert.Fail($"{quantizedFile} {tensor.Name} ({type}): block {block} (row {block * format.BlockSize / k}, " +
                    $"byte {firstDiff % format.BlockBytes} of the block) differs from llama.cpp: " +
                    $"ours {Convert.ToHexString(actual, block * format.BlockBytes, format.BlockBytes)}, " +
                    $"llama.cpp {Convert.ToHexString(expected.Slice(block * format.BlockBytes, format.BlockBytes))}");
            }
            compared++;
        }
        return compared;
    }

    /// <summary>
    /// The reference Dot against dequantized weights times dequantized activations in double, relative to the sum of
    /// |w x|: the only differences are float rounding of the per-block scale products and sums.
    /// </summary>
    public static void AssertDotMatchesDequantized(GgmlType type, int blocks, int seed)
    {
        var format = Formats.Get(type);
        var act = format.Activations;
        Assert.Equal("Q8_K", act.Name);
        var random = new Random(seed);
        int k = blocks * format.BlockSize;
        var w = new float[k];
        var x = new float[k];
        for (int i = 0; i < k; i++)
        {
            w[i] = (float)(random.NextDouble() * 2 - 1);
            x[i] = (float)(random.NextDouble() * 2 - 1);
        }
        var wq = new byte[format.RowBytes(k)];
        var xq = new byte[act.RowBytes(k)];
        format.Quantize(w, wq);
        act.Quantize(x, xq);
        var wd = new float[k];
        format.Dequantize(wq, wd);
        var xd = DequantizeQ8_K(xq, k);

        double expected = 0, magnitude = 0;
        for (int i = 0; i < k; i++)
        {
            expected += (double)wd[i] * xd[i];
            magnitude += Math.Abs((double)wd[i] * xd[i]);
        }
        float actual = format.Dot(wq, xq);
        Assert.True(Math.Abs(actual - expected) <= 1e-6 * magnitude, $"{type} dot {actual} vs dequantized {expected} (sum |w x| {magnitude})");
    }

    private static float[] DequantizeQ8_K(byte[] row, int k)
    {
        var blocks = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BlockQ8_K>(row);
        var y = new float[k];
        for (int i = 0; i < blocks.Length; i++)
        {
            unsafe
            {
                for (int j = 0; j < BlockQ8_K.BlockSize; j++)
                    y[i * BlockQ8_K.BlockSize + j] = blocks[i].D * blocks[i].Qs[j];
            }
        }
        return y;
    }
}
