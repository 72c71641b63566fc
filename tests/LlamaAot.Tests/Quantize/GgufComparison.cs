using System.Collections;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quantize;

/// <summary>Compares a GGUF file written by llama-aot with llama.cpp's, naming the first difference.</summary>
internal static class GgufComparison
{
    /// <summary>
    /// Same tensor names, and per name the same type, shape and bytes; a mismatch names the tensor, its row and the
    /// first differing block. Tensor order is not compared here (see <see cref="AssertSameFileBytes"/>).
    /// </summary>
    public static void AssertSameTensors(GgufFile expected, GgufFile actual)
    {
        string file = Path.GetFileName(expected.Path);
        Assert.Equal(expected.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), actual.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var want in expected.Tensors)
        {
            var got = actual.FindTensor(want.Name)!;
            Assert.True(want.Type == got.Type, $"{file}: {want.Name} is {got.Type} in llama-aot's file, {want.Type} in llama.cpp's");
            Assert.True(want.Shape.SequenceEqual(got.Shape), $"{file}: {want.Name} has shape [{string.Join(", ", got.Shape)}], llama.cpp [{string.Join(", ", want.Shape)}]");
            var a = expected.GetData(want);
            var b = actual.GetData(got);
            int at = a.CommonPrefixLength(b);
            if (at == a.Length && a.Length == b.Length)
                continue;
            var g = GgmlTypes.GeometryOf(want.Type);
            long rowBytes = GgmlTypes.RowBytes(want.Type, want.Columns);
            int block = at / g.BlockBytes;
            Assert.Fail($"{file}: {want.Name} ({want.Type}) differs from llama.cpp's first in block {block} (row {at / rowBytes}, byte {at % g.BlockBytes} of the block): " +
                $"llama.cpp {Hex(a, block * g.BlockBytes, g.BlockBytes)}, llama-aot {Hex(b, block * g.BlockBytes, g.BlockBytes)}");
        }
    }

    /// <summary>Same metadata keys in the same order, with the same value types and values.</summary>
    public static void AssertSameMetadata(GgufFile expected, GgufFile actual)
    {
        string file = Path.GetFileName(expected.Path);
        Assert.True(expected.Metadata.Keys.SequenceEqual(actual.Metadata.Keys),
            $"{file}: metadata keys differ.\n  llama.cpp: {string.Join(", ", expected.Metadata.Keys)}\n  llama-aot: {string.Join(", ", actual.Metadata.Keys)}");
        foreach (string key in expected.Metadata.Keys)
        {
            GgufValue want = expected.Metadata[key], got = actual.Metadata[key];
            Assert.True(SameValue(want, got), $"{file}: metadata '{key}' is {got} ({got.Type}) in llama-aot's file, {want} ({want.Type}) in llama.cpp's");
        }
    }

    /// <summary>The whole files are identical: header, metadata, tensor table and order, padding and data.</summary>
    public static void AssertSameFileBytes(string expectedPath, string actualPath)
    {
        byte[] a = File.ReadAllBytes(expectedPath), b = File.ReadAllBytes(actualPath);
        int at = a.AsSpan().CommonPrefixLength(b);
        Assert.True(at == a.Length && a.Length == b.Length,
            $"{Path.GetFileName(expectedPath)}: llama-aot's file ({b.Length} bytes) differs from llama.cpp's ({a.Length} bytes) first at byte {at}");
    }

    private static bool SameValue(GgufValue a, GgufValue b)
    {
        if (a.Type != b.Type)
            return false;
        if (a.Value is GgufArray x && b.Value is GgufArray y)
            return x.ElementType == y.ElementType && StructuralComparisons.StructuralEqualityComparer.Equals(x.Items, y.Items);
        return a.Value.Equals(b.Value);
    }

    private static string Hex(ReadOnlySpan<byte> data, int start, int length) =>
        start >= data.Length ? "(end of data)" : Convert.ToHexString(data.Slice(start, Math.Min(length, data.Length - start)));
}
