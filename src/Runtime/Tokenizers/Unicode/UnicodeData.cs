using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaAot.Tokenizers;

/// <summary>
/// llama.cpp 0.5.0's Unicode tables (src/unicode-data.cpp, copied as data into UnicodeData.Ranges.cs by
/// generate.py) behind its lookups: <c>unicode_cpt_flags_from_cpt</c>, <c>unicode_tolower</c> and the per-code-point
/// map of <c>unicode_cpts_normalize_nfd</c>. These, not .NET's <c>CharUnicodeInfo</c> (a newer Unicode version),
/// decide how llama.cpp splits and normalizes text.
/// </summary>
/// <remarks>
/// Each lookup is two loads from a <see cref="BlockTable{T}"/> built on first use (a few milliseconds, a few
/// hundred KB). Any int is accepted: code points from 0x110000 up (which <see cref="Utf8CodePoints.Decode(ReadOnlySpan{byte}, Span{int})"/>
/// can produce) are <see cref="CodePointFlags.Undefined"/> and map to themselves, as in llama.cpp.
/// </remarks>
internal static partial class UnicodeData
{
    /// <summary>llama.cpp's <c>MAX_CODEPOINTS</c>: the tables cover the code points below it.</summary>
    public const int CodePointLimit = 0x110000;

    /// <summary><c>unicode_cpt_flags_from_cpt</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CodePointFlags Flags(int codePoint) => FlagsReader[codePoint];

    /// <summary>The flags table, for a loop to keep in a local: NativeAOT code checks that a class is initialized
    /// at each read of its static fields, which <see cref="Flags"/> in a loop would repeat.</summary>
    public static FlagReader FlagsReader => new(FlagTable.Values);

    /// <summary><see cref="Flags"/> from a table held by the caller.</summary>
    internal readonly struct FlagReader(BlockTable<ushort> table)
    {
        public CodePointFlags this[int codePoint]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => (uint)codePoint < CodePointLimit ? (CodePointFlags)table[codePoint] : CodePointFlags.Undefined;
        }
    }

    /// <summary><c>unicode_tolower</c>: the code point's lowercase, or the code point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ToLower(int codePoint)
        => (uint)codePoint < CodePointLimit ? codePoint + LowerTable.Deltas[codePoint] : codePoint;

    /// <summary>What <c>unicode_cpts_normalize_nfd</c> makes of one code point: the first code point of its
    /// canonical decomposition (llama.cpp keeps only that one, dropping the combining marks), or the code point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Nfd(int codePoint)
        => (uint)codePoint < CodePointLimit ? codePoint + NfdTable.Deltas[codePoint] : codePoint;

    // One class per table, so each is built the first time it is used (a BPE vocabulary never needs NFD).
    private static class FlagTable
    {
        public static readonly BlockTable<ushort> Values = new(new FlagFiller().Fill);
    }

    private static class LowerTable
    {
        /// <summary>Lowercase minus code point.</summary>
        public static readonly BlockTable<int> Deltas = new(new DeltaFiller(LowercaseMap, stride: 2).Fill);
    }

    private static class NfdTable
    {
        /// <summary>NFD first code point minus code point.</summary>
        public static readonly BlockTable<int> Deltas = new(new DeltaFiller(NfdRanges, stride: 3).Fill);
    }

    /// <summary><c>unicode_cpt_flags_array</c> a block at a time: the category ranges, then the helper bits the
    /// four other lists give.</summary>
    private sealed class FlagFiller
    {
        private readonly long[] _helpers; // (code point << 16) | flag, sorted
        private int _range;               // the pair of FlagRanges in which the last block ended
        private int _helper;              // the first helper not yet applied

        public FlagFiller()
        {
            var helpers = new List<long>();
            void Add(int cp, CodePointFlags flag) => helpers.Add(((long)cp << 16) | (long)flag);
            foreach (int cp in Whitespace)
                Add(cp, CodePointFlags.Whitespace);
            ReadOnlySpan<int> lower = LowercaseMap;
            for (int i = 1; i < lower.Length; i += 2)
                Add(lower[i], CodePointFlags.Lowercase);
            foreach (int cp in UppercaseMapValues)
                Add(cp, CodePointFlags.Uppercase);
            ReadOnlySpan<int> nfd = NfdRanges;
            for (int i = 2; i < nfd.Length; i += 3)
                Add(nfd[i], CodePointFlags.Nfd);
            _helpers = [.. helpers];
            Array.Sort(_helpers);
        }

        public void Fill(int start, Span<ushort> values)
        {
            ReadOnlySpan<int> ranges = FlagRanges; // ends with (CodePointLimit, 0): every code point has a next range
            int end = start + values.Length;
            for (int cp = start; cp < end;)
            {
                while (ranges[_range + 2] <= cp)
                    _range += 2;
                int stop = Math.Min(ranges[_range + 2], end);
                values[(cp - start)..(stop - start)].Fill((ushort)ranges[_range + 1]);
                cp = stop;
            }
            for (; _helper < _helpers.Length && (int)(_helpers[_helper] >> 16) < end; _helper++)
                values[(int)(_helpers[_helper] >> 16) - start] |= (ushort)_helpers[_helper];
        }
    }

    /// <summary>Target minus code point, a block at a time, for a sorted list of (code point, target) pairs
    /// (stride 2) or of (first, last, target) ranges (stride 3); other code points map to themselves.</summary>
    private sealed class DeltaFiller(ReadOnlySpan<int> entries, int stride)
    {
        private readonly int[] _entries = entries.ToArray();
        private int _next; // the first entry not wholly written yet

        public void Fill(int start, Span<int> values)
        {
            values.Clear();
            int end = start + values.Length;
            for (; _next < _entries.Length && _entries[_next] < end; _next += stride)
            {
                int last = _entries[_next + stride - 2], target = _entries[_next + stride - 1];
                for (int cp = Math.Max(_entries[_next], start); cp <= Math.Min(last, end - 1); cp++)
                    values[cp - start] = target - cp;
                if (last >= end)
                    break; // the range goes on in the next block
            }
        }
    }

    /// <summary>
    /// A value per code point below <see cref="CodePointLimit"/>, stored as blocks of 256; a block that holds one
    /// value throughout (most do: one category, or every code point mapping to itself) is kept once per value.
    /// </summary>
    internal sealed class BlockTable<T> where T : unmanaged, IEquatable<T>
    {
        private const int Shift = 8;
        private const int BlockSize = 1 << Shift;

        private readonly ushort[] _blocks; // [CodePointLimit / BlockSize]: which block of _values holds these code points
        private readonly T[] _values;      // [distinct blocks * BlockSize]

        /// <summary>Writes the values of the code points from start (a multiple of the block size) on; called for
        /// each block in order.</summary>
        public delegate void BlockFiller(int start, Span<T> values);

        public BlockTable(BlockFiller fill)
        {
            _blocks = new ushort[CodePointLimit / BlockSize];
            var values = new List<T>();
            var uniform = new List<(T Value, ushort Block)>();
            Span<T> block = stackalloc T[BlockSize];
            for (int b = 0; b < _blocks.Length; b++)
            {
                fill(b * BlockSize, block);
                T first = block[0];
                bool isUniform = block.IndexOfAnyExcept(first) < 0;
                int shared = isUniform ? uniform.FindIndex(u => u.Value.Equals(first)) : -1;
                if (shared >= 0)
                {
                    _blocks[b] = uniform[shared].Block;
                    continue;
                }
                _blocks[b] = checked((ushort)(values.Count / BlockSize));
                values.AddRange(block);
                if (isUniform)
                    uniform.Add((first, _blocks[b]));
            }
            _values = [.. values];
        }

        /// <summary>The value of a code point in [0, <see cref="CodePointLimit"/>); not checked.</summary>
        public T this[int codePoint]
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                int block = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_blocks), codePoint >> Shift);
                return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_values), (block << Shift) | (codePoint & (BlockSize - 1)));
            }
        }
    }
}
