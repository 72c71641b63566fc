using System.Buffers.Binary;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Gguf;

/// <summary>
/// <see cref="GgufFile.Open"/> on broken files: every one gives a <see cref="GgufFormatException"/> (never a crash,
/// a hang or a huge allocation) whose one-line message names the problem and where it is (offset, key or tensor).
/// Each file is built byte by byte with <see cref="GgufBytes"/>, or is <see cref="SmallGguf"/> cut or patched.
/// </summary>
public sealed class GgufMalformedFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Opens <paramref name="bytes"/> as a file; asserts it fails with a one-line message holding every fragment.</summary>
    private string Fails(byte[] bytes, params string[] fragments)
    {
        string path = _dir.Write(bytes);
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
        Assert.DoesNotContain('\n', e.Message);
        foreach (string s in fragments)
            Assert.Contains(s, e.Message);
        return e.Message;
    }

    private static GgufBytes Header(ulong tensors, ulong kvs) => new GgufBytes().Header(tensors, kvs);

    [Fact]
    public void TheSmallFileIsValid()
    {
        var small = SmallGguf.Build();
        using var f = GgufFile.Open(_dir.Write(small.Bytes));
        Assert.Equal(6, f.Metadata.Count);
        Assert.Equal(["first", "second"], f.Tensors.Select(t => t.Name));
        Assert.Equal(small.DataOffset, f.DataOffset);
        Assert.Equal(SmallGguf.Second, f.GetData(f.Tensors[1]).ToArray());
    }

    // ---- the start of the file ----

    [Fact]
    public void EmptyFile() => Fails([], "empty", "0 bytes");

    [Fact]
    public void MissingFile()
    {
        string path = _dir.File("absent.gguf");
        var e = Assert.Throws<FileNotFoundException>(() => GgufFile.Open(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void WrongMagic()
    {
        byte[] bytes = SmallGguf.Build().Bytes;
        bytes[3] = (byte)'X';
        Fails(bytes, "not a GGUF file", "magic", "offset 0");
        Fails("PK\u0003\u0004 a zip file, not a model"u8.ToArray(), "not a GGUF file", "magic", "offset 0");
    }

    /// <summary>The formats before GGUF wrote their magic as a native uint32, so "ggjt" is "tjgg" on disk.</summary>
    [Theory]
    [InlineData("lmgg", "GGML")]
    [InlineData("fmgg", "GGMF")]
    [InlineData("tjgg", "GGJT")]
    public void LegacyMagicGetsAHint(string onDisk, string format)
    {
        var bytes = new GgufBytes().Raw(System.Text.Encoding.ASCII.GetBytes(onDisk)).U32(3).U64(0).U64(0).ToArray();
        Fails(bytes, "not a GGUF file", "legacy", format, "convert it to GGUF");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(4u)]
    [InlineData(0x03000000u)] // version 3 written big-endian
    [InlineData(0xFFFFFFFFu)]
    public void UnsupportedVersion(uint version)
    {
        var bytes = new GgufBytes().Header(0, 0, version).ToArray();
        string message = Fails(bytes, $"unsupported GGUF version {version}", "offset 4");
        Assert.Equal(version == 0x03000000u, message.Contains("big-endian"));
    }

    [Fact]
    public void VersionsTwoAndThreeAreRead()
    {
        foreach (uint version in new[] { 2u, 3u })
        {
            using var f = GgufFile.Open(_dir.Write(new GgufBytes().Header(0, 1, version).KvU32("a", 1).Pad(32).ToArray()));
            Assert.Equal(version, f.Version);
        }
    }

    // ---- truncation ----

    /// <summary>
    /// Every proper prefix of a small valid file, from 0 bytes to one byte short of the end of its last tensor:
    /// always a GgufFormatException that says the file is empty or truncated.
    /// </summary>
    [Fact]
    public void TruncatedAtEveryLength()
    {
        var small = SmallGguf.Build();
        Assert.Equal(small.Bytes.Length, small.DataEnd);
        var unclear = new List<string>();
        for (int n = 0; n < small.DataEnd; n++)
        {
            string message = Fails(small.Bytes[..n]);
            if (!message.Contains(n == 0 ? "empty" : "truncated", StringComparison.Ordinal))
                unclear.Add($"prefix of {n} bytes: {message}");
        }
        Assert.True(unclear.Count == 0, string.Join(Environment.NewLine, unclear));
    }

    [Fact]
    public void TruncatedTensorData()
    {
        var small = SmallGguf.Build();
        long secondAt = small.DataOffset + 32;
        Fails(small.Bytes[..^1], "truncated", "tensor 'second'", $"34 bytes at offset {secondAt}", $"file ({small.Bytes.Length - 1} bytes)");
        Fails(small.Bytes[..(int)small.DataOffset], "truncated", "tensor 'first'", $"32 bytes at offset {small.DataOffset}");
    }

    [Fact]
    public void TensorDataPastTheEnd()
    {
        var b = Header(1, 0);
        b.TensorInfo("far", [8], GgmlType.F32, offset: 1 << 20).Pad(32).Raw(new byte[32]);
        Fails(b.ToArray(), "tensor 'far'", "data offset 1048576", "past the end");

        // The offset is inside the file, the data is not.
        var n = Header(2, 0).TensorInfo("near", [8], GgmlType.F32, 0).TensorInfo("beyond", [8], GgmlType.F32, 32).Pad(32);
        long dataOffset = n.Position;
        n.Raw(new byte[40]);
        Fails(n.ToArray(), "tensor 'beyond'", $"32 bytes at offset {dataOffset + 32}", "runs past the end");

        // An offset near 2^64 must not wrap around to a small position.
        var c = Header(1, 0);
        c.TensorInfo("wrap", [8], GgmlType.F32, offset: ulong.MaxValue - 31).Pad(32).Raw(new byte[32]);
        Fails(c.ToArray(), "tensor 'wrap'", "data offset 18446744073709551584", "past the end");
    }

    // ---- the tensor table ----

    [Fact]
    public void DimensionsWhoseProductOverflows()
    {
        Fails(Header(1, 0).TensorInfo("big", [1L << 32, 1L << 32], GgmlType.F32, 0).Pad(32).ToArray(),
            "tensor 'big'", "[4294967296, 4294967296]", "overflows a 64-bit element count", "offset 24");
        // The element count fits, but at 8 bytes each the byte size does not.
        Fails(Header(1, 0).TensorInfo("wide", [1L << 61], GgmlType.F64, 0).Pad(32).ToArray(),
            "tensor 'wide'", "byte size", "overflows 64 bits");
        // A dimension above 2^63 is negative as ggml's int64 ne.
        Fails(Header(1, 0).TensorInfo("neg", [8, unchecked((long)(1UL << 63))], GgmlType.F32, 0).Pad(32).ToArray(),
            "tensor 'neg'", "dimension 1 = -9223372036854775808");
    }

    [Fact]
    public void ZeroOrTooManyDimensions()
    {
        // Zero dimensions, and then nothing but the type and offset.
        Fails(Header(1, 0).Str("scalar").U32(0).U32(0).U64(0).Pad(32).Raw(new byte[32]).ToArray(),
            "tensor 'scalar'", "0 dimensions", "offset 38", "1 to 4");
        Fails(Header(1, 0).TensorInfo("five", [1, 1, 1, 1, 1], GgmlType.F32, 0).Pad(32).Raw(new byte[32]).ToArray(),
            "tensor 'five'", "5 dimensions", "offset 36", "1 to 4");
        Fails(Header(1, 0).Str("huge.rank").U32(uint.MaxValue).Raw(new byte[64]).ToArray(),
            "tensor 'huge.rank'", "4294967295 dimensions");
        Fails(Header(1, 0).TensorInfo("empty", [8, 0], GgmlType.F32, 0).Pad(32).ToArray(),
            "tensor 'empty'", "dimension 1 = 0");
    }

    [Theory]
    [InlineData(4u)]   // Q4_2, retired
    [InlineData(31u)]  // a gap in ggml's numbering
    [InlineData(1000u)]
    public void UnknownTensorType(uint typeId)
    {
        var b = Header(1, 0).Str("odd").U32(1).U64(32);
        long typeAt = b.Position;
        b.U32(typeId).U64(0).Pad(32).Raw(new byte[128]);
        Fails(b.ToArray(), "tensor 'odd'", $"unknown type id {typeId}", $"offset {typeAt}");
    }

    [Fact]
    public void RowNotAWholeNumberOfBlocks() =>
        Fails(Header(1, 0).TensorInfo("ragged", [33, 2], GgmlType.Q4_0, 0).Pad(32).Raw(new byte[64]).ToArray(),
            "tensor 'ragged'", "Q4_0", "33", "block size 32");

    [Fact]
    public void DuplicateTensorNames()
    {
        var b = Header(2, 0).TensorInfo("twin", [8], GgmlType.F32, 0);
        long secondAt = b.Position;
        b.TensorInfo("twin", [8], GgmlType.F32, 32).Pad(32).Raw(new byte[64]);
        Fails(b.ToArray(), "duplicate tensor name 'twin'", "tensor 1", $"offset {secondAt}");
    }

    /// <summary>llama.cpp refuses a tensor name of 64 bytes or more (GGML_MAX_NAME): such a file once loaded, then
    /// failed in quantize, whose writer holds llama.cpp's limit, with the name quoted whole.</summary>
    [Fact]
    public void TensorNameTooLong()
    {
        GgufFile.Open(_dir.Write(Header(1, 0).TensorInfo(new string('n', 63), [8], GgmlType.F32, 0).Pad(32).Raw(new byte[32]).ToArray())).Dispose();
        string message = Fails(Header(1, 0).TensorInfo(new string('n', 5000), [8], GgmlType.F32, 0).Pad(32).Raw(new byte[32]).ToArray(),
            "tensor 0", "name of 5000 bytes", "at most 63");
        Assert.True(message.Length < 200, message);
    }

    [Fact]
    public void TensorOffsetNotAligned()
    {
        var b = Header(2, 0).TensorInfo("a", [8], GgmlType.F32, 0);
        b.Str("b").U32(1).U64(8).U32(0);
        long offsetAt = b.Position;
        b.U64(48).Pad(32).Raw(new byte[96]);
        Fails(b.ToArray(), "tensor 'b'", "data offset 48", $"at offset {offsetAt}", "alignment 32");

        // With general.alignment 64, 32 is not aligned either.
        var c = Header(1, 1).KvU32("general.alignment", 64).TensorInfo("c", [8], GgmlType.F32, 32).Pad(64).Raw(new byte[128]);
        Fails(c.ToArray(), "tensor 'c'", "data offset 32", "alignment 64");
    }

    [Fact]
    public void TensorNameLongerThanTheFile()
    {
        var b = Header(1, 0);
        long at = b.Position;
        b.U64(1_000_000).Raw("blk.0"u8).Raw(new byte[40]);
        Fails(b.ToArray(), "name of tensor 0", $"offset {at}", "1000000 bytes", "45 bytes remain");
    }

    [Fact]
    public void TensorCountLargerThanTheFile() =>
        Fails(Header(1UL << 40, 0).Raw(new byte[64]).ToArray(), "tensor count 1099511627776", "offset 8");

    // ---- metadata ----

    [Fact]
    public void MetadataCountLargerThanTheFile() =>
        Fails(Header(0, ulong.MaxValue).KvU32("a", 1).ToArray(), "metadata count 18446744073709551615", "offset 16");

    [Fact]
    public void UnknownMetadataValueType()
    {
        var b = Header(0, 2).KvU32("fine", 1).Str("strange");
        long typeAt = b.Position;
        b.U32(13).U32(0).Pad(32);
        Fails(b.ToArray(), "metadata 'strange'", "unknown value type 13", $"offset {typeAt}");
    }

    [Fact]
    public void UnknownArrayElementType()
    {
        var b = Header(0, 1).Key("arr", GgufValueType.Array);
        long typeAt = b.Position;
        b.U32(0xFFFF_FFFF).U64(1).U32(0).Pad(32);
        Fails(b.ToArray(), "array 'arr'", "unknown value type 4294967295", $"offset {typeAt}");
    }

    [Fact]
    public void DuplicateMetadataKeys()
    {
        var b = Header(0, 3).KvU32("general.a", 1).KvString("general.b", "x");
        long secondAt = b.Position;
        b.KvString("general.a", "again").Pad(32);
        Fails(b.ToArray(), "duplicate metadata key 'general.a'", $"offset {secondAt}");
    }

    [Fact]
    public void StringLongerThanTheFile()
    {
        var b = Header(0, 1).Key("general.name", GgufValueType.String);
        long at = b.Position;
        b.U64(ulong.MaxValue).Raw("llama"u8);
        Fails(b.ToArray(), "string value of 'general.name'", $"offset {at}", "18446744073709551615 bytes", "5 bytes remain");

        var c = Header(0, 1);
        c.U64(100).Raw("general"u8);
        Fails(c.ToArray(), "key of metadata pair 0", "offset 24", "100 bytes");

        var d = Header(0, 1).Key("tokenizer.ggml.tokens", GgufValueType.Array).U32((uint)GgufValueType.String).U64(2).Str("a");
        long elementAt = d.Position;
        d.U64(1 << 30).Raw("b"u8);
        Fails(d.ToArray(), "element of array 'tokenizer.ggml.tokens'", $"offset {elementAt}", "1073741824 bytes");
    }

    [Theory]
    [InlineData(GgufValueType.UInt8, 1UL << 20)]
    [InlineData(GgufValueType.Float32, 1UL << 40)]
    [InlineData(GgufValueType.String, ulong.MaxValue)]
    [InlineData(GgufValueType.Array, 1000UL)]
    public void ArrayCountLargerThanTheFile(GgufValueType elementType, ulong count)
    {
        var b = Header(0, 1).Key("tokenizer.ggml.scores", GgufValueType.Array).U32((uint)elementType);
        long countAt = b.Position;
        b.U64(count).Raw(new byte[200]);
        Fails(b.ToArray(), "array 'tokenizer.ggml.scores'", $"offset {countAt}", $"{count} elements");
    }

    /// <summary>
    /// An array count or string length below the file size but above what .NET can hold (2^31 - 1 elements or
    /// chars): a sparse 3 GiB file, so the count passes the "fits in the file" test. It must not reach the allocator
    /// (an array count once did, and threw OverflowException).
    /// </summary>
    [Fact]
    public void CountsAboveWhatDotNetCanHold()
    {
        var b = Header(0, 1).Key("big", GgufValueType.Array).U32((uint)GgufValueType.UInt8);
        long countAt = b.Position;
        b.U64((1UL << 31) + 5);
        FailsAsSparse3GiB(b.ToArray(), "array 'big'", $"offset {countAt}", "2147483653 elements", "more than the");

        var c = Header(0, 1).Key("long.string", GgufValueType.String);
        long lengthAt = c.Position;
        c.U64((1UL << 31) + 5);
        FailsAsSparse3GiB(c.ToArray(), "string value of 'long.string'", $"offset {lengthAt}", "2147483653 bytes", "more than the");
    }

    private void FailsAsSparse3GiB(byte[] start, params string[] fragments)
    {
        string path = _dir.Write(start, "sparse.gguf");
        using (var f = new FileStream(path, FileMode.Open))
            f.SetLength(3L << 30); // sparse: no disk used
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
        foreach (string s in fragments)
            Assert.Contains(s, e.Message);
    }

    [Fact]
    public void ArraysNestedTooDeep()
    {
        var b = Header(0, 1).Key("deep", GgufValueType.Array);
        for (int i = 0; i < 100; i++)
            b.U32((uint)GgufValueType.Array).U64(1);
        b.U32((uint)GgufValueType.UInt8).U64(0).Pad(32);
        Fails(b.ToArray(), "metadata 'deep'", $"more than {GgufFile.MaxArrayDepth} deep");
    }

    [Fact]
    public void BoolThatIsNeitherZeroNorOne()
    {
        var b = Header(0, 1).Key("flag", GgufValueType.Bool);
        long at = b.Position;
        b.U8(2).Pad(32);
        Fails(b.ToArray(), "bool metadata 'flag'", "value 2", $"offset {at}");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(48u)]
    [InlineData(0x8000_0000u)]
    public void AlignmentNotAPowerOfTwo(uint alignment) =>
        Fails(Header(0, 1).KvU32("general.alignment", alignment).Pad(32).ToArray(),
            $"invalid general.alignment {alignment}", "UInt32", "power of two");

    [Fact]
    public void AlignmentOfTheWrongType()
    {
        Fails(Header(0, 1).Key("general.alignment", GgufValueType.UInt64).U64(32).Pad(32).ToArray(),
            "invalid general.alignment 32", "UInt64", "uint32");
        Fails(Header(0, 1).Key("general.alignment", GgufValueType.Int32).U32(32).Pad(32).ToArray(),
            "invalid general.alignment 32", "Int32", "uint32");
        Fails(Header(0, 1).KvString("general.alignment", "32").Pad(32).ToArray(),
            "invalid general.alignment 32", "String", "uint32");
    }

    /// <summary>Patching one field of the small file at a time gives the same messages as building it whole.</summary>
    [Fact]
    public void PatchedFieldsOfAValidFile()
    {
        var small = SmallGguf.Build();
        byte[] bytes = small.Bytes.ToArray();
        // Tensor count 3 where there are 2: the third entry is read from the data section and fails.
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 3);
        Fails(bytes, "tensor");

        bytes = small.Bytes.ToArray();
        // The first tensor's type (after name "first", rank, two dimensions) set to 4.
        int typeAt = (int)small.TensorInfoStart + 8 + 5 + 4 + 16;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(typeAt), 4);
        Fails(bytes, "tensor 'first'", "unknown type id 4", $"offset {typeAt}");
    }
}
