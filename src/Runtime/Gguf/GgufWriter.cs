using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using LlamaAot.Diagnostics;
using LlamaAot.Files;

namespace LlamaAot.Gguf;

/// <summary>
/// Writes a GGUF v3 file. Metadata pairs and tensors are added in file order; <see cref="WriteTo(Stream)"/> then
/// writes the header, the metadata, the tensor table, padding and the tensor data in one forward pass (the stream
/// need not seek).
/// <para>
/// Everything is checked as it is added, so whatever is written, <see cref="GgufFile"/> reads back: each value's
/// CLR type matches its GGUF type, keys and tensor names are unique, shapes follow the format's rules, and data
/// lengths match shape and type. Tensor offsets are the writer's: the data section starts at a multiple of
/// <c>general.alignment</c> (32 when absent), each tensor's data at a multiple of it from there, gaps are zeros.
/// </para>
/// <para>
/// Tensor data is either copied when added (small tensors, tests) or produced by a callback during the write, so a
/// converter streams a model through without holding it in memory.
/// </para>
/// <para>
/// The layout is that of ggml's writer (gguf.cpp <c>gguf_write_out</c>): the header is padded even when there are
/// no tensors, and so is the data of every tensor, the last one included. Given the same pairs and tensors in the
/// same order, the two write the same bytes (the tests rewrite llama.cpp's files exactly). gguf-py differs in one
/// place: a file without tensors ends right after its metadata, unpadded.
/// </para>
/// </summary>
public sealed class GgufWriter
{
    /// <summary>The format version written.</summary>
    public const uint Version = 3;

    private readonly List<Pair> _metadata = [];
    private readonly List<Tensor> _tensors = [];
    private readonly HashSet<string> _tensorNames = new(StringComparer.Ordinal);

    public GgufWriter()
    {
        // Numeric arrays are written as their in-memory bytes, as the reader reads them.
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("GGUF is written little-endian; this machine is big-endian");
    }

    /// <summary>The alignment of the data section and of each tensor: <c>general.alignment</c> if added, else 32.</summary>
    public int Alignment { get; private set; } = GgufFile.DefaultAlignment;

    /// <summary>Metadata keys in the order they will be written.</summary>
    public IReadOnlyList<string> Keys => _metadata.ConvertAll(p => p.Key);

    /// <summary>Tensor names in the order they will be written.</summary>
    public IReadOnlyList<string> TensorNames => _tensors.ConvertAll(t => t.Name);

    // ---- metadata ----

    /// <summary>Adds a metadata pair after those already added.</summary>
    /// <exception cref="ArgumentException">The key is empty or already added, or the value's CLR type does not match
    /// its GGUF type, or arrays nest deeper than <see cref="GgufFile.MaxArrayDepth"/>, or <c>general.alignment</c>
    /// is not a uint32 power of two.</exception>
    public void Add(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (_metadata.Exists(p => p.Key == key))
            throw new ArgumentException($"metadata key {Excerpt.Quote(key)} was already added; use Set to replace its value", nameof(key));
        _metadata.Add(Encode(key, value));
        ApplyAlignment(key, value);
    }

    /// <summary>
    /// Replaces the value of <paramref name="key"/> where it stands, or adds it at the end. (ggml's <c>gguf_set_*</c>
    /// moves a replaced key to the end instead; <see cref="Remove"/> then <c>Add</c> does that.)
    /// </summary>
    public void Set(string key, GgufValue value)
    {
        var pair = Encode(key, value);
        int i = _metadata.FindIndex(p => p.Key == key);
        if (i >= 0)
            _metadata[i] = pair;
        else
            _metadata.Add(pair);
        ApplyAlignment(key, value);
    }

    /// <summary>Removes <paramref name="key"/>; returns whether it was there.</summary>
    public bool Remove(string key)
    {
        if (_metadata.RemoveAll(p => p.Key == key) == 0)
            return false;
        if (key == GgufFile.AlignmentKey)
            Alignment = GgufFile.DefaultAlignment;
        return true;
    }

    /// <summary>Adds every pair of <paramref name="metadata"/> (another file's), in its order.</summary>
    public void AddMetadata(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (string key in metadata.Keys)
            Add(key, metadata[key]);
    }

    public void Add(string key, GgufArray value) => Add(key, new GgufValue(GgufValueType.Array, value));
    public void Add(string key, string value) => Add(key, new GgufValue(GgufValueType.String, value));
    public void Add(string key, bool value) => Add(key, new GgufValue(GgufValueType.Bool, value));
    public void Add(string key, byte value) => Add(key, new GgufValue(GgufValueType.UInt8, value));
    public void Add(string key, sbyte value) => Add(key, new GgufValue(GgufValueType.Int8, value));
    public void Add(string key, ushort value) => Add(key, new GgufValue(GgufValueType.UInt16, value));
    public void Add(string key, short value) => Add(key, new GgufValue(GgufValueType.Int16, value));
    public void Add(string key, uint value) => Add(key, new GgufValue(GgufValueType.UInt32, value));
    public void Add(string key, int value) => Add(key, new GgufValue(GgufValueType.Int32, value));
    public void Add(string key, ulong value) => Add(key, new GgufValue(GgufValueType.UInt64, value));
    public void Add(string key, long value) => Add(key, new GgufValue(GgufValueType.Int64, value));
    public void Add(string key, float value) => Add(key, new GgufValue(GgufValueType.Float32, value));
    public void Add(string key, double value) => Add(key, new GgufValue(GgufValueType.Float64, value));

    public void Add(string key, string[] values) => Add(key, new GgufArray(GgufValueType.String, values));
    public void Add(string key, bool[] values) => Add(key, new GgufArray(GgufValueType.Bool, values));
    public void Add(string key, byte[] values) => Add(key, new GgufArray(GgufValueType.UInt8, values));
    public void Add(string key, sbyte[] values) => Add(key, new GgufArray(GgufValueType.Int8, values));
    public void Add(string key, ushort[] values) => Add(key, new GgufArray(GgufValueType.UInt16, values));
    public void Add(string key, short[] values) => Add(key, new GgufArray(GgufValueType.Int16, values));
    public void Add(string key, uint[] values) => Add(key, new GgufArray(GgufValueType.UInt32, values));
    public void Add(string key, int[] values) => Add(key, new GgufArray(GgufValueType.Int32, values));
    public void Add(string key, ulong[] values) => Add(key, new GgufArray(GgufValueType.UInt64, values));
    public void Add(string key, long[] values) => Add(key, new GgufArray(GgufValueType.Int64, values));
    public void Add(string key, float[] values) => Add(key, new GgufArray(GgufValueType.Float32, values));
    public void Add(string key, double[] values) => Add(key, new GgufArray(GgufValueType.Float64, values));

    private void ApplyAlignment(string key, GgufValue value)
    {
        if (key == GgufFile.AlignmentKey)
            Alignment = (int)(uint)value.Value; // checked by Encode
    }

    // ---- tensors ----

    /// <summary>Adds a tensor whose data is copied now.</summary>
    /// <param name="name">Tensor name, unique, at most <see cref="GgufFile.MaxTensorNameBytes"/> UTF-8 bytes.</param>
    /// <param name="shape">Dimensions in ggml order: <c>shape[0]</c> is the row length.</param>
    /// <param name="type">Element type; the row length must be a multiple of its block size.</param>
    /// <param name="data">Exactly the bytes that <paramref name="shape"/> and <paramref name="type"/> take.</param>
    public void AddTensor(string name, ReadOnlySpan<long> shape, GgmlType type, ReadOnlySpan<byte> data)
    {
        long bytes = CheckTensor(name, shape, type);
        if (data.Length != bytes)
            throw new ArgumentException(
                $"tensor {Excerpt.Quote(name)} ({Describe(type, shape)}) takes {bytes} bytes, but {data.Length} bytes of data were given", nameof(data));
        byte[] copy = data.ToArray();
        _tensors.Add(new Tensor(name, shape.ToArray(), type, bytes, s => s.Write(copy)));
        _tensorNames.Add(name);
    }

    /// <summary>Adds an F32 tensor whose values are copied now.</summary>
    public void AddTensor(string name, ReadOnlySpan<long> shape, ReadOnlySpan<float> data) =>
        AddTensor(name, shape, GgmlType.F32, MemoryMarshal.AsBytes(data));

    /// <summary>
    /// Adds a tensor whose data <paramref name="writeData"/> writes to the stream it is given, during
    /// <see cref="WriteTo(Stream)"/> (once per call), in as many pieces as it likes. It must write exactly the
    /// bytes that <paramref name="shape"/> and <paramref name="type"/> take; the stream refuses more, and the write
    /// fails if it wrote fewer.
    /// </summary>
    public void AddTensor(string name, ReadOnlySpan<long> shape, GgmlType type, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(writeData);
        long bytes = CheckTensor(name, shape, type);
        _tensors.Add(new Tensor(name, shape.ToArray(), type, bytes, writeData));
        _tensorNames.Add(name);
    }

    private long CheckTensor(string name, ReadOnlySpan<long> shape, GgmlType type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Encoding.UTF8.GetByteCount(name) > GgufFile.MaxTensorNameBytes)
            throw new ArgumentException(
                $"tensor name {Excerpt.Quote(name)} is {Encoding.UTF8.GetByteCount(name)} UTF-8 bytes; llama.cpp allows at most {GgufFile.MaxTensorNameBytes}", nameof(name));
        if (_tensorNames.Contains(name))
            throw new ArgumentException($"tensor {Excerpt.Quote(name)} was already added", nameof(name));
        if (!GgmlTypes.IsKnown((uint)type))
            throw new ArgumentOutOfRangeException(nameof(type), type, $"tensor {Excerpt.Quote(name)} has unknown ggml type id {(uint)type}");
        if (GgmlTypes.CheckShape(type, shape, out long bytes) is { } problem)
            throw new ArgumentException($"tensor {Excerpt.Quote(name)} {problem}", nameof(shape));
        return bytes;
    }

    // ---- writing ----

    /// <summary>
    /// Writes the file to <paramref name="path"/>, replacing it whole (<see cref="AtomicOutputFile"/>): a failed write
    /// leaves the path as it was.
    /// </summary>
    /// <returns>The file length.</returns>
    /// <exception cref="OutputFileException">The path cannot be written, or the write failed (a full disk).</exception>
    public long WriteTo(string path)
    {
        using var file = AtomicOutputFile.Create(path);
        long length = WriteTo(file);
        file.Commit();
        return length;
    }

    /// <summary>Writes the file to <paramref name="destination"/> from its current position, forward only.</summary>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="InvalidOperationException">A tensor's data callback wrote too few or too many bytes.</exception>
    public long WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var header = new Encoder();
        header.Bytes("GGUF"u8);
        header.U32(Version);
        header.U64((ulong)_tensors.Count);
        header.U64((ulong)_metadata.Count);
        foreach (var pair in _metadata)
            header.Bytes(pair.Encoded);

        long offset = 0; // of each tensor's data from the start of the data section
        foreach (var t in _tensors)
        {
            header.String(t.Name);
            header.U32((uint)t.Shape.Length);
            foreach (long n in t.Shape)
                header.U64((ulong)n);
            header.U32((uint)t.Type);
            header.U64((ulong)offset);
            offset += t.ByteSize + Padding(t.ByteSize);
        }
        destination.Write(header.Written);
        long position = header.Written.Length;
        position += WriteZeros(destination, Padding(position));

        foreach (var t in _tensors)
        {
            var sink = new TensorDataStream(destination, t);
            t.WriteData(sink);
            sink.CheckComplete();
            position += t.ByteSize;
            position += WriteZeros(destination, Padding(position));
        }
        destination.Flush();
        return position;
    }

    private long Padding(long position) => (Alignment - position % Alignment) % Alignment;

    private static readonly byte[] Zeros = new byte[4096];

    private static long WriteZeros(Stream destination, long count)
    {
        for (long left = count; left > 0; left -= Zeros.Length)
            destination.Write(Zeros, 0, (int)Math.Min(left, Zeros.Length));
        return count;
    }

    // ---- encoding a metadata pair (key, type, value) ----

    private static Pair Encode(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key == GgufFile.AlignmentKey && (value.Value is not uint a || !GgufFile.IsValidAlignment(a)))
            throw new ArgumentException(
                $"{GgufFile.AlignmentKey} must be a uint32 power of two, at most {GgufFile.MaxAlignment}; got {value} ({value.Type})", nameof(value));
        var e = new Encoder();
        e.String(key);
        e.U32((uint)value.Type);
        EncodeValue(e, value.Type, value.Value, key, depth: 0);
        return new Pair(key, e.Written.ToArray());
    }

    // The CLR type of each GGUF type is the one the reader produces (see GgufValue); a mismatch is refused rather
    // than converted, so a round trip gives back the same types.
    private static void EncodeValue(Encoder e, GgufValueType type, object value, string key, int depth)
    {
        switch (type)
        {
            case GgufValueType.UInt8 when value is byte v: e.U8(v); break;
            case GgufValueType.Int8 when value is sbyte v: e.U8((byte)v); break;
            case GgufValueType.UInt16 when value is ushort v: e.U16(v); break;
            case GgufValueType.Int16 when value is short v: e.U16((ushort)v); break;
            case GgufValueType.UInt32 when value is uint v: e.U32(v); break;
            case GgufValueType.Int32 when value is int v: e.U32((uint)v); break;
            case GgufValueType.Float32 when value is float v: e.U32(BitConverter.SingleToUInt32Bits(v)); break;
            case GgufValueType.Bool when value is bool v: e.U8(v ? (byte)1 : (byte)0); break;
            case GgufValueType.String when value is string v: e.String(v); break;
            case GgufValueType.Array when value is GgufArray v: EncodeArray(e, v, key, depth); break;
            case GgufValueType.UInt64 when value is ulong v: e.U64(v); break;
            case GgufValueType.Int64 when value is long v: e.U64((ulong)v); break;
            case GgufValueType.Float64 when value is double v: e.U64(BitConverter.DoubleToUInt64Bits(v)); break;
            default:
                throw new ArgumentException((uint)type > (uint)GgufValueType.Float64
                    ? $"metadata {Excerpt.Quote(key)} has unknown value type {(uint)type}"
                    : $"metadata {Excerpt.Quote(key)} is declared {type} but holds {ClrName(value)}", nameof(value));
        }
    }

    private static void EncodeArray(Encoder e, GgufArray? array, string key, int depth)
    {
        if (array?.Items is null)
            throw new ArgumentException($"metadata {Excerpt.Quote(key)} has a null array", nameof(array));
        if (depth >= GgufFile.MaxArrayDepth)
            throw new ArgumentException($"metadata {Excerpt.Quote(key)} nests arrays more than {GgufFile.MaxArrayDepth} deep", nameof(array));
        e.U32((uint)array.ElementType);
        e.U64((ulong)array.Items.Length);
        switch (array.ElementType)
        {
            case GgufValueType.UInt8: e.Bytes(Items<byte>(array, key)); break;
            case GgufValueType.Int8: e.Bytes(MemoryMarshal.AsBytes<sbyte>(Items<sbyte>(array, key))); break;
            case GgufValueType.UInt16: e.Bytes(MemoryMarshal.AsBytes<ushort>(Items<ushort>(array, key))); break;
            case GgufValueType.Int16: e.Bytes(MemoryMarshal.AsBytes<short>(Items<short>(array, key))); break;
            case GgufValueType.UInt32: e.Bytes(MemoryMarshal.AsBytes<uint>(Items<uint>(array, key))); break;
            case GgufValueType.Int32: e.Bytes(MemoryMarshal.AsBytes<int>(Items<int>(array, key))); break;
            case GgufValueType.Float32: e.Bytes(MemoryMarshal.AsBytes<float>(Items<float>(array, key))); break;
            case GgufValueType.UInt64: e.Bytes(MemoryMarshal.AsBytes<ulong>(Items<ulong>(array, key))); break;
            case GgufValueType.Int64: e.Bytes(MemoryMarshal.AsBytes<long>(Items<long>(array, key))); break;
            case GgufValueType.Float64: e.Bytes(MemoryMarshal.AsBytes<double>(Items<double>(array, key))); break;
            case GgufValueType.Bool:
                foreach (bool b in Items<bool>(array, key))
                    e.U8(b ? (byte)1 : (byte)0);
                break;
            case GgufValueType.String:
                foreach (string? s in Items<string>(array, key))
                    e.String(s ?? throw new ArgumentException($"metadata {Excerpt.Quote(key)} has a null string in its array", nameof(array)));
                break;
            case GgufValueType.Array:
                foreach (var nested in Items<GgufArray>(array, key))
                    EncodeArray(e, nested, key, depth + 1);
                break;
            default:
                throw new ArgumentException($"metadata {Excerpt.Quote(key)} is an array of unknown value type {(uint)array.ElementType}", nameof(array));
        }
    }

    // The exact array type: the CLR lets an int[] pass for a uint[] (and sbyte[] for byte[]) in a type test.
    private static T[] Items<T>(GgufArray array, string key) =>
        array.Items.GetType() == typeof(T[])
            ? (T[])array.Items
            : throw new ArgumentException(
                $"metadata {Excerpt.Quote(key)} is an array of {array.ElementType} but holds {ClrName(array.Items)}, not {typeof(T).Name}[]", nameof(array));

    private static string ClrName(object? value) => value?.GetType().Name ?? "null";

    private static string Describe(GgmlType type, ReadOnlySpan<long> shape) => $"{type} [{string.Join(", ", shape.ToArray())}]";

    private sealed record Pair(string Key, byte[] Encoded);

    private sealed record Tensor(string Name, long[] Shape, GgmlType Type, long ByteSize, Action<Stream> WriteData);

    /// <summary>Little-endian primitives into a growing buffer.</summary>
    private sealed class Encoder
    {
        private readonly ArrayBufferWriter<byte> _buffer = new();

        public ReadOnlySpan<byte> Written => _buffer.WrittenSpan;

        public void Bytes(ReadOnlySpan<byte> bytes) => _buffer.Write(bytes);

        public void U8(byte v)
        {
            _buffer.GetSpan(1)[0] = v;
            _buffer.Advance(1);
        }

        public void U16(ushort v)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), v);
            _buffer.Advance(2);
        }

        public void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), v);
            _buffer.Advance(4);
        }

        public void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), v);
            _buffer.Advance(8);
        }

        /// <summary>A GGUF string: uint64 byte length, then UTF-8 without a terminator.</summary>
        public void String(string s)
        {
            int n = Encoding.UTF8.GetByteCount(s);
            U64((ulong)n);
            Encoding.UTF8.GetBytes(s, _buffer.GetSpan(n));
            _buffer.Advance(n);
        }
    }

    /// <summary>
    /// What a tensor's data callback writes to: passes bytes through to the file, refuses any past the tensor's
    /// size, and checks at the end that all of them came.
    /// </summary>
    private sealed class TensorDataStream(Stream destination, Tensor tensor) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => tensor.ByteSize;

        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException("tensor data is written forward only");
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length > tensor.ByteSize - _written)
                throw new InvalidOperationException(
                    $"tensor {Excerpt.Quote(tensor.Name)} ({Describe(tensor.Type, tensor.Shape)}): its data callback wrote more than the {tensor.ByteSize} bytes the tensor takes");
            destination.Write(buffer);
            _written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void WriteByte(byte value) => Write([value]);

        public void CheckComplete()
        {
            if (_written != tensor.ByteSize)
                throw new InvalidOperationException(
                    $"tensor {Excerpt.Quote(tensor.Name)} ({Describe(tensor.Type, tensor.Shape)}): its data callback wrote {_written} bytes, but the tensor takes {tensor.ByteSize}");
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
