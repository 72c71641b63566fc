using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// The tensors llama.cpp quantized in ../shared/models, paired with their F32 sources, so a format's
/// <c>Quantize</c> can be checked byte for byte against what llama-quantize (or ggml_quantize_chunk) wrote.
/// </summary>
internal static class LlamaCppQuantizedFiles
{
    /// <summary>Model families: the F32 source file and the llama.cpp-quantized files made from it.</summary>
    private static IEnumerable<(string Source, string[] Quantized)> Families()
    {
        string e256 = Path.Combine(Shared.Models, "random-e256");
        yield return (Path.Combine(e256, "random-e256-l2-F32.gguf"), QuantizedBeside(e256, "random-e256-l2-F32.gguf"));
        string s260 = Path.Combine(Shared.Models, "stories260K");
        yield return (Path.Combine(s260, "stories260K-F32.gguf"), QuantizedBeside(s260, "stories260K-F32.gguf"));
    }

    private static string[] QuantizedBeside(string dir, string source) =>
        Directory.GetFiles(dir, "*.gguf").Where(f => Path.GetFileName(f) != source).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Quantizes, with <paramref name="type"/>'s reference quantizer, the F32 source of every tensor of that type in
    /// every quantized file, and asserts the bytes equal llama.cpp's; a mismatch names the file, the tensor and
    /// the first differing block. Returns the names of the files checked (each family must contribute one).
    /// </summary>
    public static IReadOnlyList<string> AssertQuantizeMatches(GgmlType type)
    {
        var format = Formats.Get(type);
        var checkedFiles = new List<string>();
        foreach (var (sourcePath, quantizedPaths) in Families())
        {
            using var source = GgufFile.Open(sourcePath);
            int before = checkedFiles.Count;
            foreach (string path in quantizedPaths)
            {
                using var quantized = GgufFile.Open(path);
                bool any = false;
                foreach (var tensor in quantized.Tensors.Where(t => t.Type == type))
                {
                    var src = source.FindTensor(tensor.Name) ?? throw new InvalidOperationException($"{sourcePath} has no {tensor.Name}");
                    Assert.Equal(GgmlType.F32, src.Type);
                    Assert.Equal(src.Shape, tensor.Shape);
                    AssertTensorMatches(format, Path.GetFileName(path), tensor.Name, MemoryMarshal.Cast<byte, float>(source.GetData(src)), quantized.GetData(tensor), tensor.Columns);
                    any = true;
                }
                if (any)
                    checkedFiles.Add(Path.GetFileName(path));
            }
            Assert.True(checkedFiles.Count > before, $"no {type} tensor found in the files made from {Path.GetFileName(sourcePath)}");
        }
        return checkedFiles;
    }

    private static void AssertTensorMatches(WeightFormat format, string file, string name, ReadOnlySpan<float> values, ReadOnlySpan<byte> expected, long columns)
    {
        var actual = new byte[expected.Length];
        long rowBytes = format.RowBytes(columns);
        Assert.Equal(expected.Length, rowBytes * (values.Length / columns));
        for (long r = 0; r < values.Length / columns; r++)
            format.Quantize(values.Slice((int)(r * columns), (int)columns), actual.AsSpan((int)(r * rowBytes), (int)rowBytes));
        if (expected.SequenceEqual(actual))
            return;
        int at = expected.CommonPrefixLength(actual);
        int block = at / format.BlockBytes;
        var want = expected.Slice(block * format.BlockBytes, format.BlockBytes);
        var got = actual.AsSpan(block * format.BlockBytes, format.BlockBytes);
        Assert.Fail($"{file}: {name} differs from llama.cpp's {format.Type} bytes first in block {block} (row {block * format.BlockSize / columns}, byte {at - block * format.BlockBytes} of the block): " +
            $"llama.cpp {Convert.ToHexString(want)}, llama-aot {Convert.ToHexString(got)}");
    }
}
