using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

/// <summary>
/// Quantizes the F32 source of a llama.cpp-quantized GGUF with a format's reference <c>Quantize</c> and compares the
/// bytes with llama.cpp's, tensor by tensor.
/// </summary>
internal static class LlamaQuantizeComparison
{
    /// <summary>
    /// Every tensor of <paramref name="type"/> in <paramref name="quantizedPath"/> against the same tensor of
    /// <paramref name="f32Path"/> quantized here; fails naming the tensor, row and block of the first difference.
    /// Returns how many tensors were compared.
    /// </summary>
    public static int AssertSameBytes(GgmlType type, string quantizedPath, string f32Path)
    {
        var format = Formats.Get(type);
        using var quantized = GgufFile.Open(quantizedPath);
        using var source = GgufFile.Open(f32Path);
        int compared = 0;
        foreach (var t in quantized.Tensors.Where(t => t.Type == type))
        {
            var src = source.FindTensor(t.Name);
            Assert.True(src is { Type: GgmlType.F32 }, $"{t.Name}: no F32 tensor of that name in {Path.GetFileName(f32Path)}");
            Assert.Equal(t.Shape, src.Shape);
            var x = MemoryMarshal.Cast<byte, float>(source.GetData(src));
            var expected = quantized.GetData(t);
            int k = (int)t.Columns;
            int rowBytes = (int)format.RowBytes(k);
            var actual = new byte[rowBytes];
            for (int r = 0; r < t.Rows; r++)
            {
                format.Quantize(x.Slice(r * k, k), actual);
                var want = expected.Slice(r * rowBytes, rowBytes);
                int at = actual.AsSpan().CommonPrefixLength(want);
                if (at < rowBytes)
                {
                    int block = at / format.BlockBytes;
                    var mine = actual.AsSpan(block * format.BlockBytes, format.BlockBytes).ToArray();
                    var theirs = want.Slice(block * format.BlockBytes, format.BlockBytes).ToArray();
                    Assert.Fail($"{t.Name} ({Path.GetFileName(quantizedPath)}): row {r}, block {block} (byte {at % format.BlockBytes} of it) differs.\n" +
                                $"  llama.cpp: {Convert.ToHexString(theirs)}\n  llama-aot: {Convert.ToHexString(mine)}");
                }
            }
            compared++;
        }
        return compared;
    }
}
