using System.Runtime.InteropServices;

namespace LlamaAot.Model;

/// <summary>
/// Native memory aligned to 64 bytes (a cache line, an AVX-512 vector), zeroed by default, freed on dispose. Activation and
/// cache buffers live here so kernels get aligned, bounds-free pointers and the GC never moves them.
/// </summary>
internal sealed unsafe class AlignedBuffer : IDisposable
{
    public const int Alignment = 64;

    private void* _pointer;

    /// <param name="bytes">Usable size.</param>
    /// <param name="clear">Zero the memory. Without it, pages are only committed when first written (a KV cache
    /// for a long context costs nothing until used).</param>
    public AlignedBuffer(long bytes, bool clear = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        // Padded by one vector so a kernel's last full-width load past a short row stays inside the allocation.
        nuint size = (nuint)(bytes + Alignment);
        try
        {
            _pointer = NativeMemory.AlignedAlloc(size, Alignment);
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

    public void Dispose()
    {
        if (_pointer is not null)
        {
            NativeMemory.AlignedFree(_pointer);
            _pointer = null;
        }
    }
}
