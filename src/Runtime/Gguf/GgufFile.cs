using System.IO.MemoryMappedFiles;
using System.Text;

namespace LlamaAot.Gguf;

/// <summary>
/// A GGUF file (v2 or v3), memory-mapped: the header, metadata and tensor table are parsed into managed objects;
/// tensor data stays in the mapping and is reached through <see cref="GetData"/> / <see cref="GetPointer"/>,
/// so weights are never copied at load. Everything read from the file is checked; a malformed file throws a
/// <see cref="GgufFormatException"/> that names the problem and its byte offset, key or tensor.
/// </summary>
public sealed unsafe partial class GgufFile : IDisposable
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The alignment of the data section and of every tensor when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>ggml's GGML_MAX_DIMS.</summary>
    public const int MaxDimensions = 4;

    /// <summary>The longest tensor name, in bytes, that llama.cpp loads (ggml's GGML_MAX_NAME is 64 with the
    /// terminating zero).</summary>
    public const int MaxTensorNameBytes = 63;

    /// <summary>The metadata key that sets the alignment; its value must be a uint32 power of two.</summary>
    public const string AlignmentKey = "general.alignment";

    /// <summary>The largest <c>general.alignment</c> accepted: larger values are certainly corrupt.</summary>
    public const uint MaxAlignment = 1u << 30;

    /// <summary>How deep arrays may nest in metadata (an array of arrays is depth 2). Deeper is certainly corrupt,
    /// and the limit keeps the reader's recursion bounded.</summary>
    public const int MaxArrayDepth = 8;

    /// <summary>Whether <paramref name="alignment"/> is a valid <c>general.alignment</c>.</summary>
    internal static bool IsValidAlignment(uint alignment) =>
        alignment is > 0 and <= MaxAlignment && System.Numerics.BitOperations.IsPow2(alignment);

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;
    private bool _disposed;

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>File length in bytes.</summary>
    public long Length { get; }

    /// <summary>Format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Metadata key/value pairs, in file order.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The tensor table, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Alignment of the data section (<c>general.alignment</c>, default 32).</summary>
    public int Alignment { get; }

    /// <summary>Absolute offset of the data section.</summary>
    public long DataOffset { get; }

    private GgufFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _base = basePtr;
        Length = length;

        var reader = new Reader(basePtr, length);
        var header = GgufHeader.Read(ref reader);
        Version = header.Version;
        Metadata = header.Metadata;
        Alignment = header.Alignment;
        Tensors = header.Tensors;
        DataOffset = header.DataOffset;
        _tensorsByName = header.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Opens and maps <paramref name="path"/> read-only, and parses and validates its header.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file.</exception>
    public static GgufFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new FileNotFoundException($"model file not found: {path}", path);
        if (info.Length == 0)
            throw new GgufFormatException($"{path}: the file is empty (0 bytes), not a GGUF file");

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            try
            {
                return new GgufFile(path, map, view, p + view.PointerOffset, info.Length);
            }
            catch
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                throw;
            }
        }
        catch
        {
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>Finds a tensor by name, or returns null.</summary>
    public GgufTensorInfo? FindTensor(string name) => _tensorsByName.GetValueOrDefault(name);

    /// <summary>A pointer to the first byte of a tensor's data inside the mapping, valid until disposal.</summary>
    public byte* GetPointer(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + tensor.FileOffset;
    }

    /// <summary>A tensor's data as a span over the mapping (tensors under 2 GiB).</summary>
    public ReadOnlySpan<byte> GetData(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue)
            throw new InvalidOperationException($"tensor '{tensor.Name}' is {tensor.ByteSize} bytes: too large for a span; use GetPointer");
        return new ReadOnlySpan<byte>(GetPointer(tensor), (int)tensor.ByteSize);
    }

    /// <summary>
    /// Tells the OS this process no longer needs a tensor's pages (after its data was copied elsewhere, e.g.
    /// repacked): they leave the process's resident memory; reading them again would fault them back in from the file.
    /// Only whole pages inside the tensor are released. No-op off Linux.
    /// </summary>
    public void Release(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!OperatingSystem.IsLinux())
            return;
        long page = Environment.SystemPageSize;
        long start = (tensor.FileOffset + page - 1) / page * page, end = (tensor.FileOffset + tensor.ByteSize) / page * page;
        if (end > start)
            _ = Native.Madvise(_base + start, (nuint)(end - start), Native.MadvDontNeed);
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }

    private static partial class Native
    {
        public const int MadvDontNeed = 4;

        [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "madvise")]
        public static partial int Madvise(byte* address, nuint length, int advice);
    }

    /// <summary>A bounds-checked little-endian cursor over the mapped file.</summary>
    internal ref struct Reader(byte* data, long length)
    {
        private readonly byte* _data = data;

        public long Length { get; } = length;

        public long Position { get; set; }

        public readonly long Remaining => Length - Position;

        private byte* Take(long count, string what)
        {
            if (count > Remaining)
                throw new GgufFormatException(
                    $"truncated file: {what} needs {count} bytes at offset {Position}, but the file ends at {Length}");
            byte* p = _data + Position;
            Position += count;
            return p;
        }

        public byte U8(string what) => *Take(1, what);
        public ushort U16(string what) => *(ushort*)Take(2, what);
        public uint U32(string what) => *(uint*)Take(4, what);
        public ulong U64(string what) => *(ulong*)Take(8, what);
        public float F32(string what) => *(float*)Take(4, what);
        public double F64(string what) => *(double*)Take(8, what);

        public string String(string what)
        {
            long at = Position;
            // The message is built only when it is needed: a vocabulary holds hundreds of thousands of strings.
            ulong n = Remaining >= sizeof(ulong) ? U64(what) : U64($"length of {what}");
            if (n > (ulong)Remaining)
                throw new GgufFormatException(
                    $"truncated or corrupt file: {what} at offset {at} claims {n} bytes, but only {Remaining} bytes remain in the file");
            if (n > int.MaxValue)
                throw new GgufFormatException(
                    $"corrupt file: {what} at offset {at} claims {n} bytes, more than the {int.MaxValue} a string can hold");
            return Encoding.UTF8.GetString(Take((long)n, what), (int)n);
        }
    }
}
