using System.Buffers.Binary;
using System.Text;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Gguf;

/// <summary>
/// Builds GGUF bytes field by field, with no help from <see cref="GgufWriter"/>: the malformed-file tests write
/// exactly the bytes they mean (including wrong ones), and the writer tests use it as an independent oracle.
/// </summary>
internal sealed class GgufBytes
{
    private readonly MemoryStream _bytes = new();

    /// <summary>Offset of the next byte to be written.</summary>
    public long Position => _bytes.Position;

    public GgufBytes Raw(ReadOnlySpan<byte> bytes)
    {
        _bytes.Write(bytes);
        return this;
    }

    public GgufBytes U8(byte v) => Raw([v]);

    public GgufBytes U32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return Raw(b);
    }

    public GgufBytes U64(ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return Raw(b);
    }

    public GgufBytes F32(float v) => U32(BitConverter.SingleToUInt32Bits(v));

    /// <summary>A GGUF string: uint64 length, UTF-8 bytes.</summary>
    public GgufBytes Str(string s)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        return U64((ulong)utf8.Length).Raw(utf8);
    }

    /// <summary>Magic, version, tensor count, metadata count.</summary>
    public GgufBytes Header(ulong tensorCount, ulong kvCount, uint version = 3) =>
        Raw("GGUF"u8).U32(version).U64(tensorCount).U64(kvCount);

    /// <summary>A metadata key and value type; the caller writes the value.</summary>
    public GgufBytes Key(string key, GgufValueType type) => Str(key).U32((uint)type);

    public GgufBytes KvU32(string key, uint v) => Key(key, GgufValueType.UInt32).U32(v);

    public GgufBytes KvString(string key, string v) => Key(key, GgufValueType.String).Str(v);

    /// <summary>A tensor info: name, dimension count, dimensions, type, offset.</summary>
    public GgufBytes TensorInfo(string name, long[] shape, GgmlType type, ulong offset)
    {
        Str(name).U32((uint)shape.Length);
        foreach (long n in shape)
            U64((ulong)n);
        return U32((uint)type).U64(offset);
    }

    /// <summary>Zero bytes up to the next multiple of <paramref name="alignment"/>.</summary>
    public GgufBytes Pad(int alignment)
    {
        while (Position % alignment != 0)
            U8(0);
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();
}

/// <summary>A small valid GGUF file built by <see cref="GgufBytes"/>, with the offsets of its parts.</summary>
internal sealed record SmallGguf(byte[] Bytes, long MetadataStart, long TensorInfoStart, long DataOffset, long DataEnd)
{
    public static readonly float[] First = [1, 2, 3, 4, 5, 6, 7, 8];   // F32 [4, 2]
    public static readonly byte[] Second = MakeQ8_0Block();            // Q8_0 [32]

    /// <summary>
    /// Metadata of several kinds (string, uint32, float, bool, an array of strings, an array of arrays), two
    /// tensors, alignment 32. The second tensor ends the file, without trailing padding, so every proper prefix of
    /// the file is missing something the reader needs.
    /// </summary>
    public static SmallGguf Build()
    {
        var b = new GgufBytes().Header(tensorCount: 2, kvCount: 6);
        long metadataStart = b.Position;
        b.KvString("general.architecture", "llama");
        b.KvU32("llama.block_count", 5);
        b.Key("llama.rope.freq_base", GgufValueType.Float32).F32(10000);
        b.Key("tokenizer.ggml.add_bos_token", GgufValueType.Bool).U8(1);
        b.Key("tokenizer.ggml.tokens", GgufValueType.Array).U32((uint)GgufValueType.String).U64(3).Str("<s>").Str("a").Str("b");
        b.Key("test.nested", GgufValueType.Array).U32((uint)GgufValueType.Array).U64(2)
            .U32((uint)GgufValueType.Int32).U64(1).U32(7)
            .U32((uint)GgufValueType.UInt8).U64(2).U8(1).U8(2);
        long tensorInfoStart = b.Position;
        b.TensorInfo("first", [4, 2], GgmlType.F32, 0);
        b.TensorInfo("second", [32], GgmlType.Q8_0, 32);
        b.Pad(32);
        long dataOffset = b.Position;
        foreach (float f in First)
            b.F32(f);
        b.Raw(Second);
        return new SmallGguf(b.ToArray(), metadataStart, tensorInfoStart, dataOffset, b.Position);
    }

    private static byte[] MakeQ8_0Block()
    {
        var block = new byte[34];
        for (int i = 0; i < block.Length; i++)
            block[i] = (byte)(i * 7 + 3);
        return block;
    }
}

/// <summary>A directory of scratch files for one test, deleted with it.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("llama-aot-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="bytes"/> to a new file and returns its path.</summary>
    public string Write(byte[] bytes, string name = "test.gguf")
    {
        string path = File(name);
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
