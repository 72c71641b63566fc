using System.Runtime.InteropServices;

namespace LlamaAot.Model;

/// <summary>
/// Native memory aligned to 64 bytes (a cache line, an AVX-512 vector), zeroed by default, freed on dispose. Activation and
/// cache buffers live here so kernels get aligned, bounds-free pointers and the GC never moves them.
/// </summary>
internal sealed unsafe partial class AlignedBuffer : IDisposable
{
    public const int Alignment = 64;

    private const nuint HugePage = 2 << 20;
    private const int MadvHugePage = 14;

    private void* _pointer;

    /// <param name="bytes">Usable size.</param>
    /// <param name="clear">Zero the memory. Without it, pages are only committed when first written (a KV cache
    /// for a long context costs nothing until used).</param>
    /// <param name="hugePages">Ask Linux for 2 MiB pages (madvise, honoured where transparent huge pages are on or
    /// "madvise"), for weights copied at load: one page fault per 2 MiB instead of per 4 KiB. On the 2-core VMs
    /// here a fault costs microseconds: loading TinyLlama Q4_0 took 1.37 s with small pages, 0.29 s with huge ones.</param>
    public AlignedBuffer(long bytes, bool clear = true, bool hugePages = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        // Padded by one vector so a kernel's last full-width load past a short row stays inside the allocation.
        nuint size = (nuint)(bytes + Alignment);
        try
        {
            hugePages &= OperatingSystem.IsLinux() && size >= HugePage;
            _pointer = NativeMemory.AlignedAlloc(size, hugePages ? HugePage : Alignment);
            if (hugePages)
                _ = Madvise(_pointer, size, MadvHugePage); // advice: without it the buffer still works, in small pages
        }
        catch (OutOfMemoryException)
        {
            throw new OutOfMemoryException($"cannot allocate {bytes / (1024.0 * 1024):F1} MiB");
        }
        if (clear)
            NativeMemory.Clear(_pointer, size);
    }

    public long Bytes { get; }

    public byte* Pointer => (byte*)_pointer;

    public float* Floats => (float*)_pointer;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);

    public void Dispose()
    {
        if (_pointer is not null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }
}
