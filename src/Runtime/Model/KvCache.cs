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
/// Keys and values of every layer and position seen so far, each element F16 (rounded to nearest even, as llama.cpp
/// stores them) or F32, laid out for the attention kernel:
/// <list type="bullet">
/// <item>keys, per layer and KV head, in tiles of <see cref="Tile"/> positions stored dimension-major ([headDim][Tile]):
/// one vector load gives one dimension of 16 consecutive positions, so q . k for a whole tile is headDim
/// multiply-adds with no horizontal sums;</item>
/// <item>values, per layer and KV head, position-major ([nCtx][headDim]): the row of a position is contiguous.</item>
/// </list>
/// </summary>
internal sealed unsafe class KvCache : IDisposable
{
    /// <summary>Positions per key tile.</summary>
    public const int Tile = 16;

    private readonly AlignedBuffer _keys;
    private readonly AlignedBuffer _values;
    private readonly int _tiles;

    public KvCache(int nLayer, int nCtx, int nHeadKv, int headDim, KvCacheType keyType, KvCacheType valueType)
    {
        NLayer = nLayer;
        NCtx = nCtx;
        NHeadKv = nHeadKv;
        HeadDim = headDim;
        KeyType = keyType;
        ValueType = valueType;
        // In long: near int.MaxValue positions, the rounding up to whole tiles overflows an int.
        long tiles = ((long)nCtx + Tile - 1) / Tile;
        long keyBytes = nLayer * nHeadKv * tiles * Tile * headDim * SizeOf(keyType);
        long valueBytes = (long)nLayer * nHeadKv * nCtx * headDim * SizeOf(valueType);
        long available = SystemMemory.Available;
        if (keyBytes + valueBytes > available)
            throw new InsufficientMemoryException(
                $"a KV cache for {nCtx} tokens needs {SystemMemory.GiB(keyBytes + valueBytes)} but only {SystemMemory.GiB(available)} of memory is available: use a smaller context (-c)");
        _tiles = (int)tiles;
        // Not cleared: a position is written before it is read (unused lanes of a key tile are masked out).
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
    public int NHeadKv { get; }
    public int HeadDim { get; }
    public KvCacheType KeyType { get; }
    public KvCacheType ValueType { get; }

    /// <summary>Bytes taken by keys and values together.</summary>
    public long Bytes => _keys.Bytes + _values.Bytes;

    public static int SizeOf(KvCacheType type) => type == KvCacheType.F16 ? 2 : 4;

    /// <summary>Bytes of keys and values one position takes, over all layers (without the key tiles' rounding).</summary>
    public static long BytesPerPosition(int nLayer, int nHeadKv, int headDim, KvCacheType keyType, KvCacheType valueType) =>
        (long)nLayer * nHeadKv * headDim * (SizeOf(keyType) + SizeOf(valueType));

    /// <summary>The key tile holding positions [tile * Tile, (tile + 1) * Tile): [headDim][Tile] elements.</summary>
    public byte* KeyTile(int layer, int kvHead, int tile) =>
        _keys.Pointer + ((((long)layer * NHeadKv + kvHead) * _tiles + tile) * Tile * HeadDim) * SizeOf(KeyType);

    /// <summary>The value row of <paramref name="pos"/>: headDim elements.</summary>
    public byte* ValueRow(int layer, int kvHead, int pos) =>
        _values.Pointer + ((((long)layer * NHeadKv + kvHead) * NCtx + pos) * HeadDim) * SizeOf(ValueType);

    /// <summary>Stores one position's keys and values (nHeadKv * headDim each, head after head).</summary>
    public void Store(int layer, int pos, float* k, float* v)
    {
        int tile = pos / Tile, lane = pos % Tile;
        for (int g = 0; g < NHeadKv; g++)
        {
            byte* keys = KeyTile(layer, g, tile);
            for (int d = 0; d < HeadDim; d++)
                Write(keys, d * Tile + lane, k[g * HeadDim + d], KeyType);
            byte* values = ValueRow(layer, g, pos);
            for (int d = 0; d < HeadDim; d++)
                Write(values, d, v[g * HeadDim + d], ValueType);
        }
    }

    private static void Write(byte* row, int index, float value, KvCacheType type)
    {
        if (type == KvCacheType.F32)
            ((float*)row)[index] = value;
        else
            ((ushort*)row)[index] = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(value));
    }

    public void Dispose()
    {
        _keys.Dispose();
        _values.Dispose();
    }
}
