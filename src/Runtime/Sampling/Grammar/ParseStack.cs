using System.Runtime.CompilerServices;

namespace LlamaAot.Sampling;

/// <summary>
/// One parse stack of the grammar recognizer (llama.cpp's <c>llama_grammar_stack</c>, a vector of element pointers
/// whose back is the top): here a persistent linked list of element positions, so pushing and popping copy nothing
/// and stacks that continue a common one share it. <see cref="Empty"/> is the stack of a finished sentence.
/// </summary>
internal sealed class ParseStack
{
    public static readonly ParseStack Empty = new(-1, null);

    private ParseStack(int top, ParseStack? parent)
    {
        Top = top;
        Parent = parent;
        Depth = parent is null ? 0 : parent.Depth + 1;
        Hash = parent is null ? 0 : HashCode.Combine(parent.Hash, top);
    }

    /// <summary>Position of the top element in <see cref="Grammar.Elements"/>; -1 for <see cref="Empty"/>.</summary>
    public int Top { get; }

    /// <summary>The stack below the top; null only for <see cref="Empty"/>.</summary>
    public ParseStack? Parent { get; }

    /// <summary>Number of elements on the stack.</summary>
    public int Depth { get; }

    public int Hash { get; }

    public bool IsEmpty => Parent is null;

    public ParseStack Push(int position) => new(position, this);

    /// <summary>Stacks equal element by element (llama.cpp compares the vectors); shared tails end the walk early.</summary>
    public static bool SameAs(ParseStack a, ParseStack b)
    {
        while (!ReferenceEquals(a, b))
        {
            if (a.Hash != b.Hash || a.Depth != b.Depth || a.Top != b.Top)
                return false;
            a = a.Parent!;
            b = b.Parent!;
        }
        return true;
    }

    /// <summary>Compares stacks by content, for sets that drop duplicates.</summary>
    public sealed class ContentComparer : IEqualityComparer<ParseStack>
    {
        public static readonly ContentComparer Instance = new();

        public bool Equals(ParseStack? x, ParseStack? y) => SameAs(x!, y!);

        public int GetHashCode(ParseStack obj) => obj.Hash;
    }
}

/// <summary>
/// A UTF-8 sequence cut at the end of a token (llama.cpp's <c>llama_partial_utf8</c>): the bits so far and the bytes
/// still to come; <see cref="Remaining"/> -1 marks an invalid sequence.
/// </summary>
internal readonly record struct PartialUtf8(uint Value, int Remaining)
{
    // Sequence length by the high four bits of the first byte; 0 for a continuation byte (invalid there).
    private static ReadOnlySpan<byte> Lengths => [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4];

    /// <summary>
    /// Decodes <paramref name="piece"/> after <paramref name="start"/> into <paramref name="codePoints"/> (cleared
    /// first) as llama.cpp's <c>decode_utf8</c>: a NUL byte ends the text, continuation bytes of a new sequence are not
    /// checked, and an invalid sequence leaves no code points and a state with <see cref="Remaining"/> -1.
    /// </summary>
    public static PartialUtf8 Decode(ReadOnlySpan<byte> piece, PartialUtf8 start, List<int> codePoints)
    {
        codePoints.Clear();
        int pos = 0;
        uint value = start.Value;
        int remaining = start.Remaining;
        while (pos < piece.Length && piece[pos] != 0 && remaining > 0)
        {
            byte next = piece[pos];
            if (next >> 6 != 2)
                return new(0, -1);
            value = (value << 6) + (uint)(next & 0x3F);
            pos++;
            remaining--;
        }
        if (start.Remaining > 0 && remaining == 0)
            codePoints.Add((int)value);

        while (pos < piece.Length && piece[pos] != 0)
        {
            byte first = piece[pos];
            remaining = Lengths[first >> 4] - 1;
            if (remaining < 0)
            {
                codePoints.Clear();
                return new(0, -1);
            }
            value = first & (uint)((1 << (7 - remaining)) - 1);
            pos++;
            while (pos < piece.Length && piece[pos] != 0 && remaining > 0)
            {
                value = (value << 6) + (uint)(piece[pos] & 0x3F);
                pos++;
                remaining--;
            }
            if (remaining == 0)
                codePoints.Add((int)value);
        }
        return new(value, remaining);
    }

    /// <summary>The range of code points this partial sequence can still complete to (llama.cpp's bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (uint Low, uint High) Completions()
    {
        uint low = Value << (Remaining * 6);
        uint high = low | ((1u << (Remaining * 6)) - 1);
        if (low == 0)
            low = Remaining switch { 2 => 1u << 11, 3 => 1u << 16, _ => low };
        return (low, high);
    }
}
