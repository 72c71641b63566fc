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
/// Each lookup is two loads from a <see cref="BlockTable{T}"/> built on first use (about a millisecond, a few
/// hundred KB). Any int is accepted: code points from 0x110000 up (which <see cref="Utf8CodePoints.Decode(ReadOnlySpan{byte}, Span{int})"/>
/// can produce) are <see cref="CodePointFlags.Undefined"/> and map to themselves, as in llama.cpp.
/// </remarks>
internal static partial class UnicodeData
{
    /// <summary>llama.cpp's <c>MAX_CODEPOINTS</c>: the tables cover the code points below it.</summary>
    public const int CodePointLimit = 0x110000;

    /// <summary><c>unicode_cpt_flags_from_cpt</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CodePointFlags Flags(int codePoint)
        => (uint)codePoint < CodePointLimit ? FlagTable.Values[codePoint] : CodePointFlags.Undefined;

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
        public static readonly BlockTable<CodePointFlags> Values = Build();

        // unicode_cpt_flags_array: the category ranges, then the helper bits of the four other lists.
        private static BlockTable<CodePointFlags> Build()
        {
            var flags = new CodePointFlags[CodePointLimit];
            ReadOnlySpan<int> ranges = FlagRanges;
            for (int i = 2; i < ranges.Length; i += 2)
                flags.AsSpan(ranges[i - 2], ranges[i] - ranges[i - 2]).Fill((CodePointFlags)ranges[i - 1]);
            foreach (int cp in Whitespace)
                flags[cp] |= CodePointFlags.Whitespace;
            ReadOnlySpan<int> lower = LowercaseMap;
            for (int i = 1; i < lower.Length; i += 2)
                flags[lower[i]] |= CodePointFlags.Lowercase;
            foreach (int cp in UppercaseMapValues)
                flags[cp] |= CodePointFlags.Uppercase;
            ReadOnlySpan<int> nfd = NfdRanges;
            for (int i = 2; i < nfd.Length; i += 3)
                flags[nfd[i]] |= CodePointFlags.Nfd;
            return new BlockTable<CodePointFlags>(flags);
        }
    }

    private static class LowerTable
    {
        /// <summary>Lowercase minus code point.</summary>
        public static readonly BlockTable<int> Deltas = Build();

        private static BlockTable<int> Build()
        {
            var deltas = new int[CodePointLimit];
            ReadOnlySpan<int> map = LowercaseMap;
            for (int i = 0; i < map.Length; i += 2)
                deltas[map[i]] = map[i + 1] - map[i];
            return new BlockTable<int>(deltas);
        }
    }

    private static class NfdTable
    {
        /// <summary>NFD first code point minus code point.</summary>
        public static readonly BlockTable<int> Deltas = Build();

        private static BlockTable<int> Build()
        {
            var deltas = new int[CodePointLimit];
            ReadOnlySpan<int> ranges = NfdRanges;
            for (int i = 0; i < ranges.Length; i += 3)
            {
                for (int cp = ranges[i]; cp <= ranges[i + 1]; cp++)
                    deltas[cp] = ranges[i + 2] - cp;
            }
            return new BlockTable<int>(deltas);
        }
    }

    /// <summary>
    /// A value per code point below <see cref="CodePointLimit"/>, stored as blocks of 256 with each distinct block
    /// kept once (most blocks are all one category, or map every code point to itself).
    /// </summary>
    internal sealed class BlockTable<T> where T : unmanaged
    {
        private const int Shift = 8;
        private const int BlockSize = 1 << Shift;

        private readonly ushort[] _blocks; // [CodePointLimit / BlockSize]: which block of _values holds these code points
        private readonly T[] _values;      // [distinct blocks * BlockSize]

        public BlockTable(T[] flat)
        {
            _blocks = new ushort[CodePointLimit / BlockSize];
            var values = new List<T>();
            var seen = new Dictionary<int, List<int>>(); // hash of a block's bytes -> its starts in values
            for (int block = 0; block < _blocks.Length; block++)
            {
                ReadOnlySpan<T> content = flat.AsSpan(block * BlockSize, BlockSize);
                var hash = new HashCode();
                hash.AddBytes(MemoryMarshal.AsBytes(content));
                int key = hash.ToHashCode();
                int start = -1;
                if (seen.TryGetValue(key, out var candidates))
                {
                    foreach (int candidate in candidates)
                    {
                        if (MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(values).Slice(candidate, BlockSize))
                            .SequenceEqual(MemoryMarshal.AsBytes(content)))
                        {
                            start = candidate;
                            break;
                        }
                    }
                }
                else
                {
                    seen[key] = candidates = [];
                }
                if (start < 0)
                {
                    start = values.Count;
                    candidates.Add(start);
                    values.AddRange(content);
                }
                _blocks[block] = checked((ushort)(start / BlockSize));
            }
            _values = values.ToArray();
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
