using System.IO.MemoryMappedFiles;

namespace LlamaAot.Conversion;

/// <summary>
/// A source file mapped read-only: converters read tensors straight out of the mapping, so a model passes through
/// the page cache once and is never held in managed memory as a whole.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;

    public string Path { get; }

    public long Length { get; }

    private MappedFile(string path, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr)
    {
        Path = path;
        Length = length;
        _map = map;
        _view = view;
        _base = basePtr;
    }

    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static MappedFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new FileNotFoundException($"file not found: {path}", path);
        if (info.Length == 0)
            return new MappedFile(path, 0, null, null, null); // an empty file cannot be mapped
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new MappedFile(path, info.Length, map, view, p + view.PointerOffset);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary><paramref name="count"/> bytes at <paramref name="offset"/>; a clear error past the end of the file.</summary>
    public ReadOnlySpan<byte> Bytes(long offset, long count, string what)
    {
        if (offset < 0 || count < 0 || offset > Length - count)
            throw new ConversionException(
                $"{Path}: truncated file: {what} needs {count} bytes at offset {offset}, but the file is {Length} bytes");
        if (count > int.MaxValue)
            throw new ConversionException($"{Path}: {what} is {count} bytes, more than one read can take");
        return new ReadOnlySpan<byte>(_base + offset, (int)count);
    }

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
