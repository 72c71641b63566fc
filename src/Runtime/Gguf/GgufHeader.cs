using LlamaAot.Diagnostics;

namespace LlamaAot.Gguf;

/// <summary>
/// Parses the part of a GGUF file before the tensor data: header, metadata, tensor table. Layout (all little
/// endian): magic "GGUF", uint32 version, uint64 tensor count, uint64 metadata count, the metadata pairs, the
/// tensor infos, padding to <c>general.alignment</c>, then the data section.
/// </summary>
internal sealed record GgufHeader(
    uint Version, GgufMetadata Metadata, IReadOnlyList<GgufTensorInfo> Tensors, int Alignment, long DataOffset)
{
    // The smallest encodings, used to reject counts that cannot fit in the rest of the file before allocating.
    private const int MinMetadataPairBytes = 8 + 4 + 1;
    private const int MinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

    public static GgufHeader Read(ref GgufFile.Reader r)
    {
        if (r.Length < 4)
            throw new GgufFormatException(StartsLikeMagic(ref r)
                ? $"truncated file: it is only {r.Length} bytes long, the start of a GGUF header"
                : $"not a GGUF file: it is only {r.Length} bytes long");
        uint magic = r.U32("magic");
        if (magic != GgufFile.Magic)
            throw new GgufFormatException(
                $"not a GGUF file: wrong magic 0x{magic:X8} at offset 0 (expected \"GGUF\"){LegacyHint(magic)}");

        uint version = r.U32("version");
        if (version == 1)
            throw new GgufFormatException("unsupported GGUF version 1 at offset 4: only versions 2 and 3 are supported; re-convert the model with a current converter");
        if (version is not (2 or 3))
            throw new GgufFormatException($"unsupported GGUF version {version} at offset 4: only versions 2 and 3 are supported{EndianHint(version)}");

        long tensorCountAt = r.Position;
        ulong tensorCount = r.U64("tensor count");
        long kvCountAt = r.Position;
        ulong kvCount = r.U64("metadata count");
        // A count too large for the rest of the file is a corrupt count or a cut file: nothing tells them apart.
        if (kvCount > (ulong)(r.Remaining / MinMetadataPairBytes))
            throw new GgufFormatException($"truncated or corrupt file: metadata count {kvCount} at offset {kvCountAt} cannot fit in the rest of the {r.Length}-byte file");
        if (tensorCount > (ulong)(r.Remaining / MinTensorInfoBytes))
            throw new GgufFormatException($"truncated or corrupt file: tensor count {tensorCount} at offset {tensorCountAt} cannot fit in the rest of the {r.Length}-byte file");

        var metadata = new GgufMetadata();
        for (ulong i = 0; i < kvCount; i++)
        {
            long at = r.Position;
            string key = r.String($"key of metadata pair {i}");
            var type = ReadValueType(ref r, $"type of metadata {Excerpt.Quote(key)}");
            var value = ReadValue(ref r, type, key, depth: 0);
            if (!metadata.TryAdd(key, value))
                throw new GgufFormatException($"corrupt file: duplicate metadata key {Excerpt.Quote(key)} at offset {at}");
        }

        int alignment = GgufFile.DefaultAlignment;
        if (metadata.TryGet(GgufFile.AlignmentKey, out var alignValue))
        {
            if (alignValue.Value is not uint a || !GgufFile.IsValidAlignment(a))
                throw new GgufFormatException($"invalid {GgufFile.AlignmentKey} {alignValue} ({alignValue.Type}): it must be a uint32 power of two, at most {GgufFile.MaxAlignment}");
            alignment = (int)a;
        }

        var infos = new List<(string Name, long[] Shape, GgmlType Type, long Offset, long ByteSize)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            long at = r.Position;
            string name = r.String($"name of tensor {i}");
            long nameBytes = r.Position - at - sizeof(ulong);
            if (nameBytes > GgufFile.MaxTensorNameBytes)
                throw new GgufFormatException(
                    $"tensor {i} (at offset {at}) has a name of {nameBytes} bytes, {Excerpt.Quote(name)}; llama.cpp allows at most {GgufFile.MaxTensorNameBytes}");
            if (!names.Add(name))
                throw new GgufFormatException($"corrupt file: duplicate tensor name {Excerpt.Quote(name)} (tensor {i}, at offset {at})");
            long dimsAt = r.Position;
            uint nDims = r.U32($"dimension count of tensor {Excerpt.Quote(name)}");
            // Checked before the dimensions are read: the count says how many bytes belong to this entry.
            if (nDims is 0 or > GgufFile.MaxDimensions)
                throw new GgufFormatException($"corrupt file: tensor {Excerpt.Quote(name)} has {nDims} dimensions (at offset {dimsAt}); 1 to {GgufFile.MaxDimensions} are allowed");
            var shape = new long[nDims];
            for (int d = 0; d < nDims; d++)
                shape[d] = (long)r.U64($"dimension {d} of tensor {Excerpt.Quote(name)}"); // ggml's ne is int64: above 2^63 reads as negative
            long typeAt = r.Position;
            uint typeId = r.U32($"type of tensor {Excerpt.Quote(name)}");
            if (!GgmlTypes.IsKnown(typeId))
                throw new GgufFormatException($"tensor {Excerpt.Quote(name)} has unknown type id {typeId} (at offset {typeAt}); the file may need a newer llama-aot");
            var type = (GgmlType)typeId;
            if (GgmlTypes.CheckShape(type, shape, out long bytes) is { } problem)
                throw new GgufFormatException($"corrupt file: tensor {Excerpt.Quote(name)} {problem} (tensor info at offset {at})");
            long offsetAt = r.Position;
            ulong offset = r.U64($"data offset of tensor {Excerpt.Quote(name)}");
            if (offset > (ulong)r.Length)
                throw new GgufFormatException($"truncated or corrupt file: tensor {Excerpt.Quote(name)} has data offset {offset} (at offset {offsetAt}), past the end of the {r.Length}-byte file");
            if (offset % (ulong)alignment != 0)
                throw new GgufFormatException($"corrupt file: tensor {Excerpt.Quote(name)} has data offset {offset} (at offset {offsetAt}), not a multiple of the alignment {alignment}");
            infos.Add((name, shape, type, (long)offset, bytes));
        }

        long dataOffset = AlignUp(r.Position, alignment);
        var tensors = new List<GgufTensorInfo>(infos.Count);
        foreach (var t in infos)
        {
            long start = dataOffset + t.Offset;
            if (t.Offset > r.Length || t.ByteSize > r.Length - start)
                throw new GgufFormatException(
                    $"truncated file: the data of tensor {Excerpt.Quote(t.Name)} ({t.ByteSize} bytes at offset {start}) runs past the end of the file ({r.Length} bytes)");
            tensors.Add(new GgufTensorInfo(t.Name, t.Shape, t.Type, t.Offset, start, t.ByteSize));
        }

        return new GgufHeader(version, metadata, tensors, alignment, dataOffset);
    }

    private static long AlignUp(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    // Whether a file too short for the magic holds its first bytes, so it was cut rather than something else.
    private static bool StartsLikeMagic(ref GgufFile.Reader r)
    {
        ReadOnlySpan<byte> magic = "GGUF"u8;
        for (int i = 0; i < r.Length; i++)
        {
            if (r.U8("magic") != magic[i])
                return false;
        }
        return true;
    }

    // A big-endian v2 or v3 file reads as version 0x02000000 or 0x03000000 (ggml's reader gives the same hint).
    private static string EndianHint(uint version) =>
        version != 0 && (version & 0xFFFF) == 0 ? " (is it a big-endian file? only little-endian files are supported)" : "";

    private static string LegacyHint(uint magic) => magic switch
    {
        0x67676d6c => " (this is a legacy unversioned GGML file: convert it to GGUF with `llama-aot convert FILE OUT.gguf`)",
        0x67676d66 => " (this is a legacy GGMF file: convert it to GGUF with `llama-aot convert FILE OUT.gguf`)",
        0x67676a74 => " (this is a legacy GGJT file: convert it to GGUF with `llama-aot convert FILE OUT.gguf`)",
        _ => "",
    };

    private static GgufValueType ReadValueType(ref GgufFile.Reader r, string what)
    {
        long at = r.Position;
        uint t = r.U32(what);
        if (t > (uint)GgufValueType.Float64)
            throw new GgufFormatException($"corrupt file: {what} is unknown value type {t} (at offset {at})");
        return (GgufValueType)t;
    }

    private static GgufValue ReadValue(ref GgufFile.Reader r, GgufValueType type, string key, int depth) =>
        new(type, type switch
        {
            GgufValueType.UInt8 => r.U8(key),
            GgufValueType.Int8 => (sbyte)r.U8(key),
            GgufValueType.UInt16 => r.U16(key),
            GgufValueType.Int16 => (short)r.U16(key),
            GgufValueType.UInt32 => r.U32(key),
            GgufValueType.Int32 => (int)r.U32(key),
            GgufValueType.Float32 => r.F32(key),
            GgufValueType.Bool => ReadBool(ref r, key),
            GgufValueType.String => r.String($"string value of {Excerpt.Quote(key)}"),
            GgufValueType.Array => ReadArray(ref r, key, depth),
            GgufValueType.UInt64 => r.U64(key),
            GgufValueType.Int64 => (long)r.U64(key),
            GgufValueType.Float64 => r.F64(key),
            _ => throw new GgufFormatException($"corrupt file: metadata {Excerpt.Quote(key)} has unknown value type {(uint)type}"),
        });

    private static bool ReadBool(ref GgufFile.Reader r, string key)
    {
        long at = r.Position;
        byte b = r.U8(key);
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw new GgufFormatException($"corrupt file: bool metadata {Excerpt.Quote(key)} has value {b} at offset {at}"),
        };
    }

    private static GgufArray ReadArray(ref GgufFile.Reader r, string key, int depth)
    {
        if (depth >= GgufFile.MaxArrayDepth)
            throw new GgufFormatException($"corrupt file: metadata {Excerpt.Quote(key)} nests arrays more than {GgufFile.MaxArrayDepth} deep");
        var elementType = ReadValueType(ref r, $"element type of array {Excerpt.Quote(key)}");
        long countAt = r.Position;
        ulong count = r.U64($"length of array {Excerpt.Quote(key)}");
        int minBytes = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.Array => 12,
            _ => 8, // 64-bit numbers; a string is at least its 8-byte length
        };
        if (count > (ulong)(r.Remaining / minBytes))
            throw new GgufFormatException($"truncated or corrupt file: array {Excerpt.Quote(key)} at offset {countAt} claims {count} elements, more than the rest of the file can hold");
        if (count > (ulong)Array.MaxLength)
            throw new GgufFormatException($"corrupt file: array {Excerpt.Quote(key)} at offset {countAt} claims {count} elements, more than the {Array.MaxLength} an array can hold");
        int n = (int)count;
        switch (elementType)
        {
            case GgufValueType.UInt8: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => x.U8(k)));
            case GgufValueType.Int8: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => (sbyte)x.U8(k)));
            case GgufValueType.UInt16: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => x.U16(k)));
            case GgufValueType.Int16: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => (short)x.U16(k)));
            case GgufValueType.UInt32: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => x.U32(k)));
            case GgufValueType.Int32: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => (int)x.U32(k)));
            case GgufValueType.Float32: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => x.F32(k)));
            case GgufValueType.Bool: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => ReadBool(ref x, k)));
            case GgufValueType.String: return new(elementType, ReadMany(ref r, n, $"element of array {Excerpt.Quote(key)}", static (ref GgufFile.Reader x, string what) => x.String(what)));
            case GgufValueType.UInt64: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => x.U64(k)));
            case GgufValueType.Int64: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => (long)x.U64(k)));
            case GgufValueType.Float64: return new(elementType, ReadMany(ref r, n, key, static (ref GgufFile.Reader x, string k) => x.F64(k)));
            case GgufValueType.Array:
                var items = new GgufArray[n];
                for (int i = 0; i < n; i++)
                    items[i] = ReadArray(ref r, key, depth + 1);
                return new(elementType, items);
            default:
                throw new GgufFormatException($"corrupt file: array {Excerpt.Quote(key)} has unknown element type {(uint)elementType}");
        }
    }

    private delegate T ElementReader<T>(ref GgufFile.Reader r, string key);

    private static T[] ReadMany<T>(ref GgufFile.Reader r, int n, string key, ElementReader<T> read)
    {
        var items = new T[n];
        for (int i = 0; i < n; i++)
            items[i] = read(ref r, key);
        return items;
    }
}
