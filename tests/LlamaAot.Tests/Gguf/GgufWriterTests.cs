using LlamaAot.Gguf;

namespace LlamaAot.Tests.Gguf;

/// <summary>
/// <see cref="GgufWriter"/>: files it writes read back through <see cref="GgufFile"/> with every value, shape,
/// offset and byte the same; its bytes equal those built field by field and those of llama.cpp's own writer.
/// </summary>
public sealed class GgufWriterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private GgufFile WriteAndOpen(GgufWriter w, string name = "out.gguf")
    {
        string path = _dir.File(name);
        long length = w.WriteTo(path);
        Assert.Equal(new FileInfo(path).Length, length);
        return GgufFile.Open(path);
    }

    // ---- metadata ----

    /// <summary>One value of every type, at its edges, plus arrays of every element type, strings and nesting.</summary>
    private static List<(string Key, GgufValue Value)> EveryKindOfValue() =>
    [
        ("u8", new(GgufValueType.UInt8, byte.MaxValue)),
        ("i8", new(GgufValueType.Int8, sbyte.MinValue)),
        ("u16", new(GgufValueType.UInt16, ushort.MaxValue)),
        ("i16", new(GgufValueType.Int16, short.MinValue)),
        ("u32", new(GgufValueType.UInt32, uint.MaxValue)),
        ("i32", new(GgufValueType.Int32, int.MinValue)),
        ("f32", new(GgufValueType.Float32, -0.0f)),
        ("f32.nan", new(GgufValueType.Float32, BitConverter.UInt32BitsToSingle(0x7FC0_1234))), // payload kept
        ("bool.true", new(GgufValueType.Bool, true)),
        ("bool.false", new(GgufValueType.Bool, false)),
        ("str", new(GgufValueType.String, "héllo ▁world 世界 🦙")),
        ("str.empty", new(GgufValueType.String, "")),
        ("u64", new(GgufValueType.UInt64, ulong.MaxValue)),
        ("i64", new(GgufValueType.Int64, long.MinValue)),
        ("f64", new(GgufValueType.Float64, double.Epsilon)),
        ("arr.u8", Arr(GgufValueType.UInt8, new byte[] { 0, 1, 255 })),
        ("arr.i8", Arr(GgufValueType.Int8, new sbyte[] { -128, 0, 127 })),
        ("arr.u16", Arr(GgufValueType.UInt16, new ushort[] { 1, 65535 })),
        ("arr.i16", Arr(GgufValueType.Int16, new short[] { -32768, 32767 })),
        ("arr.u32", Arr(GgufValueType.UInt32, new uint[] { 0, 4_000_000_000 })),
        ("arr.i32", Arr(GgufValueType.Int32, new int[] { -1, 2, -3 })),
        ("arr.f32", Arr(GgufValueType.Float32, new float[] { 1.5f, float.NegativeInfinity, float.MaxValue })),
        ("arr.bool", Arr(GgufValueType.Bool, new bool[] { true, false, true })),
        ("arr.str", Arr(GgufValueType.String, new string[] { "<s>", "", "▁the", "\n", "🦙" })),
        ("arr.u64", Arr(GgufValueType.UInt64, new ulong[] { ulong.MaxValue })),
        ("arr.i64", Arr(GgufValueType.Int64, new long[] { long.MinValue, long.MaxValue })),
        ("arr.f64", Arr(GgufValueType.Float64, new double[] { Math.PI, -0.0 })),
        ("arr.empty", Arr(GgufValueType.Float32, Array.Empty<float>())),
        ("arr.nested", Arr(GgufValueType.Array, new GgufArray[]
        {
            new(GgufValueType.Int32, new int[] { 1, 2 }),
            new(GgufValueType.String, new string[] { "x", "yz" }),
            new(GgufValueType.Array, new GgufArray[] { new(GgufValueType.Bool, new bool[] { true }), new(GgufValueType.UInt8, Array.Empty<byte>()) }),
            new(GgufValueType.Array, Array.Empty<GgufArray>()),
        })),
    ];

    private static GgufValue Arr(GgufValueType elementType, Array items) => new(GgufValueType.Array, new GgufArray(elementType, items));

    [Fact]
    public void EveryValueTypeRoundTripsInTheOrderAdded()
    {
        var values = EveryKindOfValue();
        var w = new GgufWriter();
        foreach (var (key, value) in values)
            w.Add(key, value);

        using var f = WriteAndOpen(w);
        Assert.Equal(3u, f.Version);
        Assert.Equal(values.Select(v => v.Key), f.Metadata.Keys);
        foreach (var (key, value) in values)
            AssertSameValue(value, f.Metadata[key], key);
        Assert.Empty(f.Tensors);
        Assert.Equal(0, f.DataOffset % 32);
        Assert.Equal(f.DataOffset, f.Length); // no tensors: the file ends with the header's padding
    }

    [Fact]
    public void TypedAddOverloadsChooseTheMatchingGgufType()
    {
        var w = new GgufWriter();
        w.Add("string", "llama");
        w.Add("uint", 5u);
        w.Add("int", -5);
        w.Add("float", 1e-5f);
        w.Add("bool", true);
        w.Add("ulong", 1UL << 40);
        w.Add("long", -(1L << 40));
        w.Add("double", 0.25);
        w.Add("byte", (byte)7);
        w.Add("sbyte", (sbyte)-7);
        w.Add("ushort", (ushort)7);
        w.Add("short", (short)-7);
        w.Add("strings", ["a", "b"]);
        w.Add("floats", new[] { 0.5f, 1.5f });
        w.Add("ints", new[] { 3, -4 });
        w.Add("uints", new[] { 3u, 4u });
        w.Add("bools", new[] { false, true });
        w.Add("longs", new[] { 1L });
        w.Add("nested", new GgufArray(GgufValueType.Array, new GgufArray[] { new(GgufValueType.Int16, new short[] { 1 }) }));

        using var f = WriteAndOpen(w);
        var m = f.Metadata;
        Assert.Equal(GgufValueType.String, m["string"].Type);
        Assert.Equal(GgufValueType.UInt32, m["uint"].Type);
        Assert.Equal(GgufValueType.Int32, m["int"].Type);
        Assert.Equal(GgufValueType.Float32, m["float"].Type);
        Assert.Equal(GgufValueType.Bool, m["bool"].Type);
        Assert.Equal(GgufValueType.UInt64, m["ulong"].Type);
        Assert.Equal(GgufValueType.Int64, m["long"].Type);
        Assert.Equal(GgufValueType.Float64, m["double"].Type);
        Assert.Equal(GgufValueType.UInt8, m["byte"].Type);
        Assert.Equal(GgufValueType.Int8, m["sbyte"].Type);
        Assert.Equal(GgufValueType.UInt16, m["ushort"].Type);
        Assert.Equal(GgufValueType.Int16, m["short"].Type);
        Assert.Equal("llama", m.GetString("string"));
        Assert.Equal(-5, m.GetInt32("int"));
        Assert.Equal(1e-5f, m.GetSingle("float"));
        Assert.Equal(-(1L << 40), m.GetInt64("long"));
        Assert.Equal(["a", "b"], m.GetArray<string>("strings")!);
        Assert.Equal([0.5f, 1.5f], m.GetArray<float>("floats")!);
        Assert.Equal([3, -4], m.GetArray<int>("ints")!);
        Assert.Equal([3u, 4u], m.GetArray<uint>("uints")!);
        Assert.Equal([false, true], m.GetArray<bool>("bools")!);
        Assert.Equal([1L], m.GetArray<long>("longs")!);
        var nested = Assert.Single(m.GetArray<GgufArray>("nested")!);
        Assert.Equal(new short[] { 1 }, (short[])nested.Items);
    }

    [Fact]
    public void SetReplacesInPlaceAndRemoveDropsTheKey()
    {
        var w = new GgufWriter();
        w.Add("a", 1u);
        w.Add("b", 2u);
        w.Add("c", 3u);
        w.Set("b", new GgufValue(GgufValueType.String, "two"));
        w.Set("d", new GgufValue(GgufValueType.Bool, true));
        Assert.True(w.Remove("a"));
        Assert.False(w.Remove("zzz"));
        Assert.Equal(["b", "c", "d"], w.Keys);

        using var f = WriteAndOpen(w);
        Assert.Equal(["b", "c", "d"], f.Metadata.Keys);
        Assert.Equal("two", f.Metadata.GetString("b"));
        Assert.Equal(3, f.Metadata.GetInt32("c"));
        Assert.True(f.Metadata.GetBool("d", false));
    }

    // ---- tensors and alignment ----

    /// <summary>Tensors of several types and ranks, with sizes that are and are not multiples of the alignment.</summary>
    private static readonly (string Name, long[] Shape, GgmlType Type)[] MixedTensors =
    [
        ("f32.odd", [5], GgmlType.F32),                 // 20 bytes
        ("f16", [3, 2], GgmlType.F16),                  // 12 bytes
        ("q4_0", [64, 3], GgmlType.Q4_0),               // 108 bytes
        ("q8_0.3d", [32, 1, 2], GgmlType.Q8_0),         // 68 bytes
        ("q4_k", [256, 2], GgmlType.Q4_K),              // 288 bytes
        ("i8", [7], GgmlType.I8),                       // 7 bytes
        ("f64.4d", [1, 2, 1, 3], GgmlType.F64),         // 48 bytes
        ("bf16", [33], GgmlType.BF16),                  // 66 bytes
        ("blk.0.attn_q.weight", [64, 64], GgmlType.F32), // 16 KiB
    ];

    [Theory]
    [InlineData(null)] // absent: the default, 32
    [InlineData(32u)]
    [InlineData(64u)]
    [InlineData(1u)]
    [InlineData(8u)]
    [InlineData(4096u)]
    public void TensorsRoundTripAtEveryAlignment(uint? alignment)
    {
        var w = new GgufWriter();
        w.Add("general.architecture", "test");
        if (alignment is uint a)
            w.Add(GgufFile.AlignmentKey, a);
        w.Add("general.name", "after the alignment key");
        var data = new Dictionary<string, byte[]>();
        var rng = new Random(1234);
        foreach (var (name, shape, type) in MixedTensors)
        {
            Assert.Null(GgmlTypes.CheckShape(type, shape, out long bytes));
            var d = new byte[bytes];
            rng.NextBytes(d);
            data[name] = d;
            w.AddTensor(name, shape, type, d);
        }
        int align = (int)(alignment ?? 32);
        Assert.Equal(align, w.Alignment);

        using var f = WriteAndOpen(w);
        Assert.Equal(align, f.Alignment);
        Assert.Equal(0, f.DataOffset % align);
        Assert.Equal(MixedTensors.Select(t => t.Name), f.Tensors.Select(t => t.Name));
        byte[] file = File.ReadAllBytes(f.Path);
        long expectedOffset = 0;
        for (int i = 0; i < MixedTensors.Length; i++)
        {
            var (name, shape, type) = MixedTensors[i];
            var t = f.Tensors[i];
            Assert.Equal(shape, t.Shape);
            Assert.Equal(type, t.Type);
            Assert.Equal(expectedOffset, t.Offset); // packed: each tensor at the next aligned offset
            Assert.Equal(f.DataOffset + t.Offset, t.FileOffset);
            Assert.Equal(data[name], f.GetData(t).ToArray());
            long end = t.FileOffset + t.ByteSize;
            long next = AlignUp(end, align);
            Assert.All(file[(int)end..(int)next], b => Assert.Equal(0, b)); // padding is zeros
            expectedOffset = next - f.DataOffset;
        }
        Assert.Equal(f.DataOffset + expectedOffset, f.Length); // the last tensor is padded too, as ggml does
    }

    [Fact]
    public void BytesEqualAFileBuiltFieldByField()
    {
        var small = SmallGguf.Build();
        var w = new GgufWriter();
        w.Add("general.architecture", "llama");
        w.Add("llama.block_count", 5u);
        w.Add("llama.rope.freq_base", 10000f);
        w.Add("tokenizer.ggml.add_bos_token", true);
        w.Add("tokenizer.ggml.tokens", ["<s>", "a", "b"]);
        w.Add("test.nested", new GgufArray(GgufValueType.Array, new GgufArray[]
        {
            new(GgufValueType.Int32, new[] { 7 }),
            new(GgufValueType.UInt8, new byte[] { 1, 2 }),
        }));
        w.AddTensor("first", [4, 2], SmallGguf.First);
        w.AddTensor("second", [32], GgmlType.Q8_0, SmallGguf.Second);

        var written = new MemoryStream();
        w.WriteTo(written);
        // The hand-built file stops right after the last tensor's data; the writer pads it to the alignment (as
        // ggml's gguf_write_out does), which is the only difference.
        long padded = AlignUp(small.Bytes.Length, 32);
        Assert.Equal([.. small.Bytes, .. new byte[padded - small.Bytes.Length]], written.ToArray());
    }

    [Fact]
    public void CallbackDataIsStreamedInPiecesToAForwardOnlyStream()
    {
        var values = Enumerable.Range(0, 300).Select(i => (float)i / 7).ToArray();
        byte[] bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

        var copied = new GgufWriter();
        copied.Add("k", 1u);
        copied.AddTensor("t", [100, 3], values);
        copied.AddTensor("u", [32], GgmlType.Q8_0, SmallGguf.Second);

        var streamed = new GgufWriter();
        streamed.Add("k", 1u);
        streamed.AddTensor("t", [100, 3], GgmlType.F32, s =>
        {
            s.WriteByte(bytes[0]);                          // one byte
            s.Write(bytes, 1, 399);                         // an array slice
            for (int row = 1; row < 3; row++)               // a row at a time, as a converter would
                s.Write(bytes.AsSpan(row * 400, 400));
        });
        streamed.AddTensor("u", [32], GgmlType.Q8_0, s => s.Write(SmallGguf.Second));

        var expected = new MemoryStream();
        copied.WriteTo(expected);
        var forwardOnly = new ForwardOnlyStream();
        long n = streamed.WriteTo(forwardOnly);
        Assert.Equal(expected.Length, n);
        Assert.Equal(expected.ToArray(), forwardOnly.Inner.ToArray());
    }

    [Fact]
    public void ACallbackThatWritesTooLittleOrTooMuchFailsNamingTheTensor()
    {
        var tooLittle = new GgufWriter();
        tooLittle.AddTensor("short.one", [8], GgmlType.F32, s => s.Write(new byte[31]));
        string path = _dir.File("failed.gguf");
        var e = Assert.Throws<InvalidOperationException>(() => tooLittle.WriteTo(path));
        Assert.Contains("'short.one'", e.Message);
        Assert.Contains("wrote 31 bytes", e.Message);
        Assert.Contains("32", e.Message);
        Assert.False(File.Exists(path)); // a failed write leaves no file behind

        var tooMuch = new GgufWriter();
        tooMuch.AddTensor("long.one", [8], GgmlType.F32, s => { s.Write(new byte[30]); s.Write(new byte[3]); });
        e = Assert.Throws<InvalidOperationException>(() => tooMuch.WriteTo(new MemoryStream()));
        Assert.Contains("'long.one'", e.Message);
        Assert.Contains("more than the 32 bytes", e.Message);
    }

    [Fact]
    public void AFailedWriteLeavesTheFileThatWasThere()
    {
        string path = _dir.File("kept.gguf");
        File.WriteAllText(path, "old");
        var failing = new GgufWriter();
        failing.AddTensor("short.one", [8], GgmlType.F32, s => { s.Write(new byte[16]); throw new InvalidDataException("the source ended"); });
        Assert.Throws<InvalidDataException>(() => failing.WriteTo(path));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["kept.gguf"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }

    // ---- validation ----

    [Fact]
    public void RejectsBadMetadataWithTheKeyInTheMessage()
    {
        var w = new GgufWriter();
        w.Add("dup", 1u);
        AssertArgument(() => w.Add("dup", 2u), "'dup'", "already added");
        AssertArgument(() => w.Add("", 2u), "");
        AssertArgument(() => w.Add("wrong.clr", new GgufValue(GgufValueType.UInt32, 5)), "'wrong.clr'", "UInt32", "Int32");
        AssertArgument(() => w.Add("unknown.type", new GgufValue((GgufValueType)13, 5)), "'unknown.type'", "unknown value type 13");
        // int[] would pass a CLR type test for uint[]: the writer checks the exact array type.
        AssertArgument(() => w.Add("wrong.items", new GgufArray(GgufValueType.UInt32, new int[] { 1 })), "'wrong.items'", "UInt32", "Int32[]");
        AssertArgument(() => w.Add("unknown.items", new GgufArray((GgufValueType)99, new int[] { 1 })), "'unknown.items'", "unknown value type 99");
        AssertArgument(() => w.Add("null.string", new[] { "a", null! }), "'null.string'", "null");
        AssertArgument(() => w.Add("null.items", new GgufArray(GgufValueType.Int32, null!)), "'null.items'", "null array");
        AssertArgument(() => w.Add("null.nested", new GgufArray(GgufValueType.Array, new GgufArray[] { null! })), "'null.nested'", "null array");
        AssertArgument(() => w.Add("null.value", new GgufValue(GgufValueType.UInt32, null!)), "'null.value'", "null");
        AssertArgument(() => w.Add("too.deep", Nest(GgufFile.MaxArrayDepth + 1)), "'too.deep'", "deep");
        w.Add("deep.enough", Nest(GgufFile.MaxArrayDepth));
        Assert.Equal(["dup", "deep.enough"], w.Keys); // nothing rejected was added

        using var f = WriteAndOpen(w);
        Assert.Equal(GgufValueType.Array, f.Metadata["deep.enough"].Type);
    }

    private static GgufArray Nest(int depth) =>
        depth == 1
            ? new GgufArray(GgufValueType.Int32, new[] { depth })
            : new GgufArray(GgufValueType.Array, new[] { Nest(depth - 1) });

    [Fact]
    public void RejectsABadAlignment()
    {
        var w = new GgufWriter();
        AssertArgument(() => w.Add(GgufFile.AlignmentKey, 0u), "general.alignment", "power of two");
        AssertArgument(() => w.Add(GgufFile.AlignmentKey, 3u), "general.alignment", "power of two");
        AssertArgument(() => w.Add(GgufFile.AlignmentKey, 1u << 31), "general.alignment", "power of two");
        AssertArgument(() => w.Add(GgufFile.AlignmentKey, 32), "general.alignment", "uint32");  // int32
        AssertArgument(() => w.Add(GgufFile.AlignmentKey, 32UL), "general.alignment", "uint32");
        AssertArgument(() => w.Set(GgufFile.AlignmentKey, new GgufValue(GgufValueType.String, "32")), "general.alignment");
        Assert.Empty(w.Keys);
        Assert.Equal(32, w.Alignment);
        w.Add(GgufFile.AlignmentKey, 64u);
        Assert.Equal(64, w.Alignment);
        w.Remove(GgufFile.AlignmentKey);
        Assert.Equal(32, w.Alignment);
    }

    [Fact]
    public void RejectsBadTensorsWithTheNameInTheMessage()
    {
        var w = new GgufWriter();
        w.AddTensor("ok", [4], GgmlType.F32, new byte[16]);
        AssertArgument(() => w.AddTensor("ok", [4], GgmlType.F32, new byte[16]), "'ok'", "already added");
        AssertArgument(() => w.AddTensor("short", [4], GgmlType.F32, new byte[15]), "'short'", "takes 16 bytes", "15");
        AssertArgument(() => w.AddTensor("long", [32], GgmlType.Q8_0, new byte[35]), "'long'", "takes 34 bytes", "35");
        AssertArgument(() => w.AddTensor("rows", [33], GgmlType.Q4_0, new byte[18]), "'rows'", "33", "block size 32");
        AssertArgument(() => w.AddTensor("rank0", [], GgmlType.F32, new byte[4]), "'rank0'", "0 dimensions");
        AssertArgument(() => w.AddTensor("rank5", [1, 1, 1, 1, 1], GgmlType.F32, new byte[4]), "'rank5'", "5 dimensions");
        AssertArgument(() => w.AddTensor("zero", [4, 0], GgmlType.F32, new byte[0]), "'zero'", "dimension 1 = 0");
        AssertArgument(() => w.AddTensor("negative", [-4], GgmlType.F32, new byte[0]), "'negative'", "dimension 0 = -4");
        AssertArgument(() => w.AddTensor("huge", [1L << 32, 1L << 32], GgmlType.F32, _ => { }), "'huge'", "overflows a 64-bit element count");
        AssertArgument(() => w.AddTensor("bytes", [1L << 61], GgmlType.F64, _ => { }), "'bytes'", "byte size", "overflows");
        AssertArgument(() => w.AddTensor("type", [4], (GgmlType)4, new byte[16]), "'type'", "unknown ggml type id 4");
        AssertArgument(() => w.AddTensor("", [4], GgmlType.F32, new byte[16]), "");
        AssertArgument(() => w.AddTensor(new string('x', 64), [4], GgmlType.F32, new byte[16]), "64 UTF-8 bytes", "at most 63");
        w.AddTensor(new string('x', 63), [4], GgmlType.F32, new byte[16]);
        Assert.Equal(["ok", new string('x', 63)], w.TensorNames);
    }

    private static void AssertArgument(Action add, params string[] fragments)
    {
        var e = Assert.ThrowsAny<ArgumentException>(add);
        foreach (string s in fragments)
            Assert.Contains(s, e.Message);
    }

    // ---- llama.cpp's files ----

    /// <summary>Every model file in ../shared: llama.cpp's F32 conversion and llama-quantize's outputs.</summary>
    public static TheoryData<string> LlamaCppModels()
    {
        var files = new TheoryData<string>();
        foreach (string dir in new[] { "stories260K", "random-e256" })
            foreach (string path in Directory.GetFiles(Path.Combine(Shared.Models, dir), "*.gguf").Order(StringComparer.Ordinal))
                files.Add(Path.GetRelativePath(Shared.Models, path));
        return files;
    }

    /// <summary>
    /// A llama.cpp model file, re-written from its parsed metadata and its tensor data (streamed through the
    /// callback, as a converter would), is byte-identical to the original: same key order, value encodings, tensor
    /// table, offsets and zero padding, after the last tensor too. (llama.cpp wrote these with ggml's gguf.cpp.)
    /// </summary>
    [Theory]
    [MemberData(nameof(LlamaCppModels))]
    public void RewritingALlamaCppModelReproducesItExactly(string model)
    {
        string original = Path.Combine(Shared.Models, model);
        Assert.Equal(File.ReadAllBytes(original), Rewrite(original));
    }

    /// <summary>
    /// The writer as the future <c>quantize</c> command will use it: copy an input file's metadata, add the keys
    /// llama-quantize adds, and stream new tensor data a row at a time. Converting the F32 stories260K to F16
    /// (1-D norms stay F32, as llama-quantize keeps them) gives llama-quantize's own F16 file, byte for byte.
    /// </summary>
    [Fact]
    public void QuantizeStyleF32ToF16ReproducesLlamaQuantize()
    {
        using var src = GgufFile.Open(Shared.Stories260K("F32"));
        var w = new GgufWriter();
        w.AddMetadata(src.Metadata);
        w.Add("general.quantization_version", 2u); // ggml's GGML_QNT_VERSION
        w.Add("general.file_type", 1u);            // LLAMA_FTYPE_MOSTLY_F16
        // llama-quantize writes tensors in the order of llama.cpp's weights map (weight_name_comparer): tensors
        // outside the blocks first, then by block number, each group by name.
        var order = src.Tensors.OrderBy(t => BlockOf(t.Name)).ThenBy(t => t.Name, StringComparer.Ordinal);
        foreach (var t in order)
        {
            if (t.Shape.Length == 1)
            {
                w.AddTensor(t.Name, t.Shape, t.Type, s => s.Write(src.GetData(t)));
                continue;
            }
            w.AddTensor(t.Name, t.Shape, GgmlType.F16, s =>
            {
                var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(src.GetData(t));
                var row = new Half[t.Columns];
                for (long r = 0; r < t.Rows; r++)
                {
                    for (int i = 0; i < row.Length; i++)
                        row[i] = (Half)values[(int)(r * row.Length) + i]; // round to nearest even, as F16C does
                    s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
                }
            });
        }

        var converted = new MemoryStream();
        w.WriteTo(converted);
        Assert.Equal(File.ReadAllBytes(Shared.Stories260K("F16")), converted.ToArray());
    }

    private static int BlockOf(string tensorName) =>
        tensorName.StartsWith("blk.", StringComparison.Ordinal) ? int.Parse(tensorName.Split('.')[1]) : -1;

    /// <summary>
    /// The one legitimate difference: a vocab-only file from llama.cpp's Python converter (gguf-py) has no tensors
    /// and ends right after its metadata, because gguf-py pads to the alignment only when it writes tensor data
    /// (<c>write_tensors_to_file</c>). ggml's C writer, and this one, pad the header in every case, so that the
    /// data section always starts aligned inside the file. Both read the same.
    /// </summary>
    [Theory]
    [InlineData("reference/vocab/ggml-vocab-llama-spm.gguf")]
    [InlineData("reference/tokenizers/ggml-vocab-gpt-2.gguf")]
    public void RewritingAVocabOnlyFileAddsOnlyTheHeaderPadding(string file)
    {
        string original = Path.Combine(Shared.Root, file);
        byte[] bytes = File.ReadAllBytes(original);
        Assert.NotEqual(0, bytes.Length % 32); // gguf-py left it unpadded
        byte[] rewritten = Rewrite(original);
        Assert.Equal([.. bytes, .. new byte[AlignUp(bytes.Length, 32) - bytes.Length]], rewritten);
    }

    private static byte[] Rewrite(string path)
    {
        using var f = GgufFile.Open(path);
        var w = new GgufWriter();
        w.AddMetadata(f.Metadata);
        foreach (var t in f.Tensors)
            w.AddTensor(t.Name, t.Shape, t.Type, s => s.Write(f.GetData(t)));
        var rewritten = new MemoryStream();
        w.WriteTo(rewritten);
        return rewritten.ToArray();
    }

    // ---- helpers ----

    private static long AlignUp(long n, int alignment) => (n + alignment - 1) / alignment * alignment;

    private static void AssertSameValue(GgufValue expected, GgufValue actual, string key)
    {
        Assert.Equal(expected.Type, actual.Type);
        AssertSame(expected.Value, actual.Value, key);
    }

    private static void AssertSame(object expected, object actual, string key)
    {
        switch (expected)
        {
            case GgufArray e:
                var a = Assert.IsType<GgufArray>(actual);
                Assert.Equal(e.ElementType, a.ElementType);
                Assert.Equal(e.Items.GetType(), a.Items.GetType());
                Assert.Equal(e.Count, a.Count);
                for (int i = 0; i < e.Count; i++)
                    AssertSame(e.Items.GetValue(i)!, a.Items.GetValue(i)!, $"{key}[{i}]");
                break;
            case float e: // bit for bit: -0 and NaN payloads too
                Assert.Equal(BitConverter.SingleToUInt32Bits(e), BitConverter.SingleToUInt32Bits(Assert.IsType<float>(actual)));
                break;
            case double e:
                Assert.Equal(BitConverter.DoubleToUInt64Bits(e), BitConverter.DoubleToUInt64Bits(Assert.IsType<double>(actual)));
                break;
            default:
                Assert.Equal(expected.GetType(), actual.GetType());
                Assert.True(expected.Equals(actual), $"{key}: expected {expected}, read {actual}");
                break;
        }
    }

    /// <summary>A stream that can only be written forward, as a pipe or a network stream.</summary>
    private sealed class ForwardOnlyStream : Stream
    {
        public MemoryStream Inner { get; } = new();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Inner.Write(buffer, offset, count);
    }
}
