using System.Runtime.InteropServices;

namespace LlamaAot.Tests;

/// <summary>
/// Memory whose last byte sits just before an inaccessible page, so a kernel that reads or writes even one byte
/// past the end crashes the test instead of passing by luck (Linux mmap + mprotect).
/// </summary>
internal sealed unsafe partial class GuardedBuffer : IDisposable
{
    private const int ProtNone = 0, ProtReadWrite = 3, MapPrivate = 2, MapAnonymous = 0x20;
    private static readonly nint PageSize = Environment.SystemPageSize;
    private readonly byte* _mapping;
    private readonly nint _mappingSize;

    public GuardedBuffer(long bytes)
    {
        Length = bytes;
        nint dataPages = (nint)((bytes + PageSize - 1) / PageSize) * PageSize;
        _mappingSize = dataPages + PageSize;
        _mapping = (byte*)Mmap(null, (nuint)_mappingSize, ProtReadWrite, MapPrivate | MapAnonymous, -1, 0);
        if (_mapping == (byte*)-1)
            throw new OutOfMemoryException("mmap failed");
        if (Mprotect(_mapping + dataPages, (nuint)PageSize, ProtNone) != 0)
            throw new InvalidOperationException("mprotect failed");
        Pointer = _mapping + dataPages - bytes;
    }

    public long Length { get; }

    /// <summary>The first byte; Pointer + Length is the guard page.</summary>
    public byte* Pointer { get; }

    public Span<byte> Bytes => new(Pointer, checked((int)Length));

    public Span<float> Floats => new(Pointer, checked((int)(Length / 4)));

    public void Dispose() => _ = Munmap(_mapping, (nuint)_mappingSize);

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(void* addr, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* addr, nuint length);
}
