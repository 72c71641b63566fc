using System.Runtime.CompilerServices;
using F = LlamaAot.Tokenizers.CodePointFlags;

namespace LlamaAot.Tokenizers;

// The patterns llama.cpp 0.5.0 runs with hand-written scanners (unicode_regex_split_custom in src/unicode.cpp),
// branch for branch: where a scanner departs from its regex (GPT-2's has no final \s+ yet acts as if it had one),
// the scanner is what llama.cpp does and what is reproduced.
internal static partial class PreTokenizer
{
    /// <summary>The piece a scanner reads, with the flags table at hand (see <see cref="UnicodeData.FlagsReader"/>).</summary>
    private readonly ref struct Piece(ReadOnlySpan<int> codePoints)
    {
        private readonly UnicodeData.FlagReader _flags = UnicodeData.FlagsReader;
        private readonly ReadOnlySpan<int> _codePoints = codePoints;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public F FlagsOf(int cp) => _flags[cp];

        /// <summary>The flags of the code point at <paramref name="pos"/>, <see cref="F.None"/> past the piece's end
        /// (the scanners' <c>_get_flags</c>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public F FlagsAt(int pos) => (uint)pos < (uint)_codePoints.Length ? _flags[_codePoints[pos]] : F.None;

        /// <summary>How many whitespace code points start at <paramref name="pos"/>.</summary>
        public int WhitespaceRun(int pos)
        {
            int end = pos;
            while ((FlagsAt(end) & F.Whitespace) != 0)
                end++;
            return end - pos;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsCrOrLf(int cp) => cp is '\r' or '\n';

    /// <summary>The contraction at <paramref name="pos"/> (an apostrophe then s, t, m, d, re, ve or ll), lowercased
    /// first with <see cref="UnicodeData.ToLower"/> when <paramref name="ignoreCase"/>: its length, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ContractionAt(ReadOnlySpan<int> codePoints, int pos, bool ignoreCase)
    {
        if (codePoints[pos] != '\'' || pos + 1 >= codePoints.Length)
            return 0;
        int next = ignoreCase ? UnicodeData.ToLower(codePoints[pos + 1]) : codePoints[pos + 1];
        if (next is 's' or 't' or 'm' or 'd')
            return 2;
        if (pos + 2 >= codePoints.Length)
            return 0;
        int after = ignoreCase ? UnicodeData.ToLower(codePoints[pos + 2]) : codePoints[pos + 2];
        return (next, after) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
    }

    /// <summary><c>unicode_regex_split_custom_gpt2</c>, for
    /// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)</c>.</summary>
    private readonly struct Gpt2Pattern : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            var piece = new Piece(codePoints);
            int n = codePoints.Length;
            for (int pos = 0; pos < n;)
            {
                int cpt = codePoints[pos];
                int contraction = ContractionAt(codePoints, pos, ignoreCase: false);
                if (contraction > 0)
                {
                    pos += contraction;
                    output.EndAt(pos);
                    continue;
                }

                // " ?\p{L}+", " ?\p{N}+" or " ?[^\s\p{L}\p{N}]+": the space goes with the run that follows it; a
                // code point past the piece has no flags and ends a run
                F flags2 = cpt == ' ' ? piece.FlagsAt(pos + 1) : piece.FlagsOf(cpt);
                if ((flags2 & F.Letter) != 0 || (flags2 & F.Number) != 0 || IsOther(flags2))
                {
                    F first = flags2;
                    if (cpt == ' ')
                        pos++;
                    while ((first & F.Letter) != 0 ? (flags2 & F.Letter) != 0
                        : (first & F.Number) != 0 ? (flags2 & F.Number) != 0
                        : IsOther(flags2))
                        flags2 = piece.FlagsAt(++pos);
                    output.EndAt(pos);
                    continue;
                }

                int spaces = piece.WhitespaceRun(pos);
                if (spaces > 1 && pos + spaces < n)
                    pos += spaces - 1; // \s+(?!\S): leave the last one to the word after
                else
                    pos += Math.Max(spaces, 1); // \s+, or a code point no branch takes
                output.EndAt(pos);
            }
        }
    }

    /// <summary><c>[^\s\p{L}\p{N}]</c> for a code point inside the piece.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsOther(F flags) => (flags & (F.Whitespace | F.Letter | F.Number)) == 0 && flags != F.None;

    /// <summary><c>unicode_regex_split_custom_llama3</c>: <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
    /// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.</summary>
    private readonly struct Llama3Pattern : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
            => SplitLlama3Like(codePoints, offset, words, digitGroup: 3, letters: F.Letter);
    }

    /// <summary><c>unicode_regex_split_custom_qwen2</c>: Llama 3's pattern with <c>\p{N}</c> for <c>\p{N}{1,3}</c>.</summary>
    private readonly struct Qwen2Pattern : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
            => SplitLlama3Like(codePoints, offset, words, digitGroup: 1, letters: F.Letter);
    }

    /// <summary><c>unicode_regex_split_custom_qwen35</c>: Qwen 2's pattern with <c>[\p{L}\p{M}]+</c> for letter
    /// runs and <c>\p{M}</c> kept out of punctuation runs.</summary>
    private readonly struct Qwen35Pattern : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
            => SplitLlama3Like(codePoints, offset, words, digitGroup: 1, letters: F.Letter | F.AccentMark);
    }

    /// <summary>The scanner the three above share: <paramref name="digitGroup"/> is the longest digit word,
    /// <paramref name="letters"/> the flags that make up a letter run.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SplitLlama3Like(ReadOnlySpan<int> codePoints, int offset, List<Range> words, int digitGroup, F letters)
    {
        var output = new WordWriter(words, offset);
        var piece = new Piece(codePoints);
        F notPunctuation = F.Whitespace | F.Number | letters;
        int n = codePoints.Length;
        for (int pos = 0; pos < n;)
        {
            int cpt = codePoints[pos];
            F flags = piece.FlagsOf(cpt);

            int contraction = ContractionAt(codePoints, pos, ignoreCase: true);
            if (contraction > 0)
            {
                pos += contraction;
                output.EndAt(pos);
                continue;
            }

            // [^\r\n\p{L}\p{N}]?\p{L}+
            if (!IsCrOrLf(cpt) && (flags & F.Number) == 0
                && ((flags & letters) != 0 || (piece.FlagsAt(pos + 1) & letters) != 0))
            {
                pos++;
                while ((piece.FlagsAt(pos) & letters) != 0)
                    pos++;
                output.EndAt(pos);
                continue;
            }

            // \p{N}{1,3}: a run of digits in words of digitGroup from its start
            if ((flags & F.Number) != 0)
            {
                int group = pos;
                while ((piece.FlagsAt(pos) & F.Number) != 0)
                {
                    if (++pos - group >= digitGroup)
                    {
                        output.EndAt(pos);
                        group = pos;
                    }
                }
                output.EndAt(pos);
                continue;
            }

            // " ?[^\s\p{L}\p{N}]+[\r\n]*" (llama.cpp tests the first code point's flags, not the space's follower's,
            // for being inside the piece)
            F flags2 = cpt == ' ' ? piece.FlagsAt(pos + 1) : flags;
            if ((flags2 & notPunctuation) == 0 && flags != F.None)
            {
                if (cpt == ' ')
                    pos++;
                while ((flags2 & notPunctuation) == 0 && flags2 != F.None)
                    flags2 = piece.FlagsAt(++pos);
                while (pos < n && IsCrOrLf(codePoints[pos]))
                    pos++;
                output.EndAt(pos);
                continue;
            }

            // \s*[\r\n]+ up to the last line break of the whitespace run, else \s+(?!\S), else \s+
            int spaces = 0, afterLastBreak = 0;
            while ((piece.FlagsAt(pos + spaces) & F.Whitespace) != 0)
            {
                if (IsCrOrLf(codePoints[pos + spaces]))
                    afterLastBreak = pos + spaces + 1;
                spaces++;
            }
            if (afterLastBreak > 0)
                pos = afterLastBreak;
            else if (spaces > 1 && pos + spaces < n)
                pos += spaces - 1;
            else
                pos += Math.Max(spaces, 1); // \s+, or a code point no branch takes
            output.EndAt(pos);
        }
    }

    /// <summary><c>unicode_regex_split_custom_newlines</c>, for <c>[^\n]+|[\n]+</c>.</summary>
    private readonly struct LineRuns : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            for (int pos = 0; pos < codePoints.Length;)
            {
                bool lineFeeds = codePoints[pos] == '\n';
                while (pos < codePoints.Length && (codePoints[pos] == '\n') == lineFeeds)
                    pos++;
                output.EndAt(pos);
            }
        }
    }
}
