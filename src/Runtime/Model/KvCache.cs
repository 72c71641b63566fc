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
/// How a KV cache is laid out: per layer the cells each sequence has (a full layer one per position of the
/// sequence's context; a sliding-window layer a ring of the window plus one batch, rounded to whole tiles, so a
/// long sequence keeps only what its window can still read), and the element types. Sizes come from here, for the
/// cache and for the memory it will take before it exists.
/// </summary>
internal sealed record KvCacheLayout(int NLayer, int NSeq, int NCtxSeq, int[] Cells, int SlidingWindow, int NHeadKv, int HeadDim, KvCacheType KeyType, KvCacheType ValueType)
{
    /// <summary>
    /// The layout for <paramref name="c"/>: <paramref name="nSeq"/> sequences of <paramref name="nCtxSeq"/> positions,
    /// forward passes of at most <paramref name="maxBatch"/> tokens.
    /// </summary>
    public static KvCacheLayout For(ModelConfig c, int nSeq, int nCtxSeq, int maxBatch, KvCacheType keyType, KvCacheType valueType)
    {
        var cells = new int[c.NLayer];
        for (int l = 0; l < c.NLayer; l++)
        {
            int window = c.LayerWindow(l);
            // A pass stores up to maxBatch positions of a sequence before attending: the first of them still reads
            // window - 1 positions back, so the ring holds window + maxBatch - 1 of them.
            long ring = ((long)window + maxBatch - 1 + KvCache.Tile - 1) / KvCache.Tile * KvCache.Tile;
            cells[l] = window > 0 && ring < nCtxSeq ? (int)ring : nCtxSeq;
        }
        return new KvCacheLayout(c.NLayer, nSeq, nCtxSeq, cells, c.SlidingWindow, c.NHeadKv, c.HeadDim, keyType, valueType);
    }

    /// <summary>Key tiles per layer, KV head and sequence.</summary>
    public long Tiles(int layer) => ((long)Cells[layer] + KvCache.Tile - 1) / KvCache.Tile;

    public long KeyBytes(int layer) => NSeq * NHeadKv * Tiles(layer) * KvCache.Tile * HeadDim * KvCache.SizeOf(KeyType);

    public long ValueBytes(int layer) => (long)NSeq * NHeadKv * Cells[layer] * HeadDim * KvCache.SizeOf(ValueType);

    /// <summary>Bytes of keys and values of every layer.</summary>
    public long Bytes => Enumerable.Range(0, NLayer).Sum(l => KeyBytes(l) + ValueBytes(l));

    /// <summary>Whether some layer keeps fewer positions than a sequence's context.</summary>
    public bool HasRing => Cells.Any(c => c < NCtxSeq);
}

/// <summary>
/// Keys and values of every layer and every sequence's positions, each element F16 (rounded to nearest even, as
/// llama.cpp stores them) or F32, laid out for the attention kernel:
/// <list type="bullet">
/// <item>keys, per layer, sequence and KV head, in tiles of <see cref="Tile"/> cells stored dimension-major
/// ([headDim][Tile]): one vector load gives one dimension of 16 consecutive positions, so q . k for a whole tile is
/// headDim multiply-adds with no horizontal sums;</item>
/// <item>values, per layer, sequence and KV head, cell-major ([cells][headDim]): the row of a position is contiguous.</item>
/// </list>
/// Position p of a sequence lives in cell p mod cells(layer): the identity on full layers, a ring on sliding-window
/// ones (see <see cref="KvCacheLayout"/>). Each sequence has its own cells, so attention reads only its own
/// sequence; the cache also keeps each sequence's length.
/// </summary>
internal sealed unsafe class KvCache : IDisposable
{
    /// <summary>Positions per key tile.</summary>
    public const int Tile = 16;

    private readonly AlignedBuffer _keys;
    private readonly AlignedBuffer _values;
    private readonly long[] _keyOffset, _valueOffset; // bytes, per layer
    private readonly int[] _length;                   // per sequence: positions held, the next one's position
    private readonly int[] _oldest;                   // per sequence: the first position the rings still hold

    public KvCache(KvCacheLayout layout)
    {
        Layout = layout;
        _keyOffset = new long[layout.NLayer];
        _valueOffset = new long[layout.NLayer];
        long keyBytes = 0, valueBytes = 0;
        for (int l = 0; l < layout.NLayer; l++)
        {
            _keyOffset[l] = keyBytes;
            _valueOffset[l] = valueBytes;
            keyBytes += layout.KeyBytes(l);
            valueBytes += layout.ValueBytes(l);
        }
        _length = new int[layout.NSeq];
        _oldest = new int[layout.NSeq];
        long available = SystemMemory.Available;
        if (keyBytes + valueBytes > available)
            throw new InsufficientMemoryException(
                $"a KV cache for {(long)layout.NCtxSeq * layout.NSeq} tokens needs {SystemMemory.GiB(keyBytes + valueBytes)} but only {SystemMemory.GiB(available)} of memory is available: use a smaller context (-c)");
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

    /// <summary>One sequence of <paramref name="nCtx"/> positions on every layer.</summary>
    public KvCache(int nLayer, int nCtx, int nHeadKv, int headDim, KvCacheType keyType, KvCacheType valueType)
        : this(new KvCacheLayout(nLayer, 1, nCtx, Enumerable.Repeat(nCtx, nLayer).ToArray(), 0, nHeadKv, headDim, keyType, valueType))
    {
    }

    public KvCacheLayout Layout { get; }
    public int NLayer => Layout.NLayer;

    /// <summary>Positions each sequence can hold.</summary>
    public int NCtx => Layout.NCtxSeq;
    public int NSeq => Layout.NSeq;
    public int NHeadKv => Layout.NHeadKv;
    public int HeadDim => Layout.HeadDim;
    public KvCacheType KeyType => Layout.KeyType;
    public KvCacheType ValueType => Layout.ValueType;

    /// <summary>Bytes taken by keys and values together.</summary>
    public long Bytes => _keys.Bytes + _values.Bytes;

    public static int SizeOf(KvCacheType type) => type == KvCacheType.F16 ? 2 : 4;

    /// <summary>Cells of <paramref name="layer"/> per sequence: position p is in cell p mod Cells.</summary>
    public int Cells(int layer) => Layout.Cells[layer];

    /// <summary>The key tile holding cells [tile * Tile, (tile + 1) * Tile): [headDim][Tile] elements.</summary>
    public byte* KeyTile(int layer, int seq, int kvHead, int tile) =>
        _keys.Pointer + _keyOffset[layer] + ((((long)seq * NHeadKv + kvHead) * Layout.Tiles(layer) + tile) * Tile * HeadDim) * SizeOf(KeyType);

    /// <summary>The value row of <paramref name="cell"/>: headDim elements.</summary>
    public byte* ValueRow(int layer, int seq, int kvHead, int cell) =>
        _values.Pointer + _valueOffset[layer] + ((((long)seq * NHeadKv + kvHead) * Cells(layer) + cell) * HeadDim) * SizeOf(ValueType);

    /// <summary>Stores one position's keys and values (nHeadKv * headDim each, head after head).</summary>
    public void Store(int layer, int seq, int pos, float* k, float* v)
    {
        int cell = pos % Cells(layer), tile = cell / Tile, lane = cell % Tile;
        for (int g = 0; g < NHeadKv; g++)
        {
            byte* keys = KeyTile(layer, seq, g, tile);
            for (int d = 0; d < HeadDim; d++)
                Write(keys, d * Tile + lane, k[g * HeadDim + d], KeyType);
            byte* values = ValueRow(layer, seq, g, cell);
            for (int d = 0; d < HeadDim; d++)
                Write(values, d, v[g * HeadDim + d], ValueType);
        }
    }

    /// <summary>Stores position <paramref name="pos"/> of sequence 0.</summary>
    public void Store(int layer, int pos, float* k, float* v) => Store(layer, 0, pos, k, v);

    /// <summary>Positions sequence <paramref name="seq"/> holds: the next token's position.</summary>
    public int Length(int seq) => _length[seq];

    /// <summary>Records that sequence <paramref name="seq"/> now holds positions up to <paramref name="length"/> - 1.</summary>
    public void Extend(int seq, int length)
    {
        _length[seq] = length;
        if (Layout.HasRing)
            _oldest[seq] = Math.Max(_oldest[seq], length - Layout.Cells.Min());
    }

    /// <summary>
    /// Forgets positions from <paramref name="length"/> on, and returns the length kept. When a sliding-window ring
    /// has already overwritten positions that a token at <paramref name="length"/> would read, the sequence cannot
    /// go back there: then all of it is forgotten (0 is returned) and must be evaluated again from its start.
    /// </summary>
    public int Truncate(int seq, int length)
    {
        if (length < 0 || length > _length[seq])
            throw new ArgumentOutOfRangeException(nameof(length), $"sequence {seq} holds {_length[seq]} positions; it cannot be cut to {length}");
        if (length < _length[seq] && Math.Max(0, length - Layout.SlidingWindow + 1) < _oldest[seq])
            length = 0;
        _length[seq] = length;
        if (length == 0)
            _oldest[seq] = 0;
        return length;
    }

    /// <summary>Forgets every sequence.</summary>
    public void Clear()
    {
        Array.Clear(_length);
        Array.Clear(_oldest);
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
