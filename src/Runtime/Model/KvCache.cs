using LlamaAot.Diagnostics;
using LlamaAot.Quants;

namespace LlamaAot.Model;

/// <summary>The element type of the key or value cache (llama.cpp's -ctk / -ctv). F16 is llama.cpp's default.</summary>
public enum KvCacheType
{
    F16,
    F32,
}

/// <summary>
/// Keys and values of every layer for every position seen so far: per layer, [nCtx, kvDim] keys and the same for
/// values, row-major by position, each in F16 (rounded to nearest even, as llama.cpp stores them) or F32.
/// </summary>
internal sealed unsafe class KvCache : IDisposable
{
    private readonly AlignedBuffer _keys;
    private readonly AlignedBuffer _values;

    public KvCache(int nLayer, int nCtx, int kvDim, KvCacheType keyType, KvCacheType valueType)
    {
        NLayer = nLayer;
        NCtx = nCtx;
        KvDim = kvDim;
        KeyType = keyType;
        ValueType = valueType;
        long keyBytes = (long)nLayer * nCtx * kvDim * SizeOf(keyType), valueBytes = (long)nLayer * nCtx * kvDim * SizeOf(valueType);
        long available = SystemMemory.Available;
        if (keyBytes + valueBytes > available)
            throw new InsufficientMemoryException(
                $"a KV cache for {nCtx} tokens needs {SystemMemory.GiB(keyBytes + valueBytes)} but only {SystemMemory.GiB(available)} of memory is available: use a smaller context (-c)");
        _keys = new AlignedBuffer(keyBytes, clear: false);
        try
        {
            _values = new AlignedBuffer(valueBytes, clear: false);
        }
        catch
        {
            _keys.Dispose();
            throw;
        }
    }

    public int NLayer { get; }
    public int NCtx { get; }
    public int KvDim { get; }
    public KvCacheType KeyType { get; }
    public KvCacheType ValueType { get; }

    /// <summary>Bytes taken by keys and values together.</summary>
    public long Bytes => _keys.Bytes + _values.Bytes;

    public static int SizeOf(KvCacheType type) => type == KvCacheType.F16 ? 2 : 4;

    /// <summary>The key row of <paramref name="pos"/> in <paramref name="layer"/> (kvDim elements).</summary>
    public byte* Key(int layer, int pos) => _keys.Pointer + ((long)layer * NCtx + pos) * KvDim * SizeOf(KeyType);

    /// <summary>The value row of <paramref name="pos"/> in <paramref name="layer"/> (kvDim elements).</summary>
    public byte* Value(int layer, int pos) => _values.Pointer + ((long)layer * NCtx + pos) * KvDim * SizeOf(ValueType);

    /// <summary>Stores one position's key and value rows.</summary>
    public void Store(int layer, int pos, float* k, float* v)
    {
        Write(Key(layer, pos), k, KeyType);
        Write(Value(layer, pos), v, ValueType);
    }

    private void Write(byte* dst, float* src, KvCacheType type)
    {
        if (type == KvCacheType.F32)
        {
            Buffer.MemoryCopy(src, dst, KvDim * 4, KvDim * 4);
            return;
        }
        var halves = (ushort*)dst;
        for (int i = 0; i < KvDim; i++)
            halves[i] = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(src[i]));
    }

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
