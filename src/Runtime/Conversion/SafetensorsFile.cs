using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using LlamaAot.Diagnostics;
using LlamaAot.Quants;

namespace LlamaAot.Conversion;

/// <summary>A tensor of a safetensors file: its dtype, shape in PyTorch order (rows first), and byte range.</summary>
public sealed record SafetensorsTensor(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Elements per row (the last dimension; 1 for a scalar).</summary>
    public long RowLength => Shape.Length == 0 ? 1 : Shape[^1];

    public long Rows => Shape.Length == 0 ? 1 : Shape[..^1].Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A safetensors file, memory-mapped: an 8-byte little-endian header length N, N bytes of JSON (per tensor
/// <c>dtype</c>, <c>shape</c>, <c>data_offsets</c> [begin, end) relative to the data after the header; an optional
/// <c>__metadata__</c> of strings), then the data. Every header entry is checked against the file; tensors are read
/// one row at a time, as floats, straight from the mapping.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>dtypes a converter can read, with their element sizes.</summary>
    private static readonly Dictionary<string, int> ElementBytes = new(StringComparer.Ordinal) { ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2 };

    /// <summary>A header larger than this is certainly corrupt (the format's own reference reader allows 100 MB).</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private readonly MappedFile _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, SafetensorsTensor> _tensors;

    public string Path => _file.Path;

    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafetensorsFile(MappedFile file, long dataStart, List<SafetensorsTensor> tensors, Dictionary<string, string> metadata)
    {
        _file = file;
        _dataStart = dataStart;
        Tensors = tensors;
        Metadata = metadata;
        _tensors = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <exception cref="ConversionException">The file is not a valid safetensors file; the message says why.</exception>
    public static SafetensorsFile Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            if (file.Length < 8)
                throw new ConversionException($"{path}: not a safetensors file: {file.Length} bytes, fewer than the 8-byte header length");
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file.Bytes(0, 8, "the header length"));
            if (n > (ulong)(file.Length - 8) || n > MaxHeaderBytes)
                throw new ConversionException($"{path}: truncated or not a safetensors file: the header claims {n} bytes, but the file is {file.Length} bytes");
            long dataStart = 8 + (long)n, dataLength = file.Length - dataStart;
            var tensors = new List<SafetensorsTensor>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var document = JsonFile.Parse(file.Bytes(8, (long)n, "the JSON header").ToArray(), $"{path}: the safetensors header"))
            {
                foreach (var entry in JsonFile.Root(document, $"{path}: the safetensors header").EnumerateObject())
                {
                    if (entry.Name == "__metadata__")
                    {
                        if (entry.Value.ValueKind == JsonValueKind.Object)
                        {
                            foreach (var m in entry.Value.EnumerateObject())
                                metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                        }
                        continue;
                    }
                    tensors.Add(ReadEntry(path, entry, dataLength));
                }
            }
            // JSON allows a key twice; a tensor may not be there twice.
            if (tensors.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw new ConversionException($"{path}: tensor {Excerpt.Quote(twice.Key)} appears twice in the safetensors header");
            CheckOverlaps(path, tensors);
            return new SafetensorsFile(file, dataStart, tensors, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static SafetensorsTensor ReadEntry(string path, JsonProperty entry, long dataLength)
    {
        string name = Excerpt.Quote(entry.Name);
        var e = entry.Value;
        if (e.ValueKind != JsonValueKind.Object
            || !e.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !e.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !e.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new ConversionException($"{path}: tensor {name} needs dtype, shape and data_offsets [begin, end] in the header");
        string dtype = dtypeElement.GetString()!;
        long[] shape;
        long begin, end;
        try
        {
            shape = shapeElement.EnumerateArray().Select(d => d.GetInt64()).ToArray();
            begin = offsetsElement[0].GetInt64();
            end = offsetsElement[1].GetInt64();
        }
        catch (Exception x) when (x is FormatException or InvalidOperationException)
        {
            throw new ConversionException($"{path}: tensor {name} has a shape or data_offsets that are not integers");
        }
        if (!ElementBytes.TryGetValue(dtype, out int size))
            throw new ConversionException(
                $"{path}: tensor {name} has dtype {Excerpt.Quote(dtype)}; only F32, F16 and BF16 tensors can be converted");
        long elements = 1;
        foreach (long d in shape)
        {
            if (d < 0 || (d > 0 && elements > long.MaxValue / size / d))
                throw new ConversionException($"{path}: tensor {name} has an invalid shape [{string.Join(", ", shape)}]");
            elements *= d;
        }
        if (begin < 0 || end < begin || end - begin != elements * size)
            throw new ConversionException(
                $"{path}: tensor {name} ({dtype} [{string.Join(", ", shape)}]) takes {elements * size} bytes, but its data_offsets are [{begin}, {end})");
        if (end > dataLength)
            throw new ConversionException(
                $"{path}: truncated file: tensor {name} ends at data offset {end}, but the file holds only {dataLength} bytes of data");
        return new SafetensorsTensor(entry.Name, dtype, shape, begin, end);
    }

    private static void CheckOverlaps(string path, List<SafetensorsTensor> tensors)
    {
        var sorted = tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new ConversionException($"{path}: tensors {Excerpt.Quote(sorted[i - 1].Name)} and {Excerpt.Quote(sorted[i].Name)} overlap in the file");
        }
    }

    public SafetensorsTensor? Find(string name) => _tensors.GetValueOrDefault(name);

    /// <summary>Reads row <paramref name="row"/> of <paramref name="tensor"/> as floats (F16 and BF16 widen exactly).</summary>
    public void ReadRow(SafetensorsTensor tensor, long row, Span<float> destination)
    {
        int size = ElementBytes[tensor.DType];
        long k = tensor.RowLength;
        // Open checked every tensor's range against the file: no description is formatted per row for an error that cannot occur.
        var bytes = _file.Bytes(_dataStart + tensor.Begin + row * k * size, k * size, "a row of tensor data");
        switch (tensor.DType)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case "F16":
                var halves = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < halves.Length; i++)
                    destination[i] = Fp16.HalfBitsToSingle(halves[i]);
                break;
            default: // BF16
                var brains = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < brains.Length; i++)
                    destination[i] = Fp16.BFloat16BitsToSingle(brains[i]);
                break;
        }
    }

    public void Dispose() => _file.Dispose();
}
