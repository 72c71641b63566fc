using System.Runtime.CompilerServices;
using System.Text;
using F = LlamaAot.Tokenizers.CodePointFlags;

namespace LlamaAot.Tokenizers;

// The regexes llama.cpp 0.5.0 runs through std::regex (unicode_regex_split in src/unicode.cpp), reproduced by
// scanners that see the text as std::regex sees it. Those with a \p{..} run on "collapsed" text: ASCII as is, any
// other code point one byte, 0x0B (a vertical tab, so \s matches it) for whitespace, else 0xD1..0xD5 for its category
// N, L, P, M, S, or 0xD0; \p{N} becomes [\xD10-9], \p{L} [\xD2A-Za-z], \p{P} [\xD3 and ASCII punctuation]. The others
// run through std::wregex on the code points with non-ASCII whitespace replaced by 0x0B. Either way \s is ASCII's
// [\t\n\v\f\r ] (as libstdc++'s "C" locale classifies, checked code point by code point), so it matches exactly
// ASCII whitespace and llama.cpp's non-ASCII whitespace; and a character class written with non-ASCII ranges
// (DeepSeek's [一-龥ࠀ-一가-퟿]) never matches U+3000 or U+2000..U+200A, which have become 0x0B.
// Each pass emits, like unicode_regex_split_stl, the matches found left to right and the text between them.
internal static partial class PreTokenizer
{
    /// <summary>A character class of a <c>std::regex</c> pattern, as a test of the original code point.</summary>
    private interface ICodePointClass
    {
        static abstract bool Contains(int cp);
    }

    /// <summary>The code point's byte in the collapsed text.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Collapsed(int cp)
    {
        if ((uint)cp < 0x80)
            return cp;
        F flags = UnicodeData.Flags(cp);
        if ((flags & F.Whitespace) != 0)
            return 0x0B;
        return (flags & F.Categories) switch
        {
            F.Number => 0xD1,
            F.Letter => 0xD2,
            F.Punctuation => 0xD3,
            F.AccentMark => 0xD4,
            F.Symbol => 0xD5,
            _ => 0xD0,
        };
    }

    /// <summary>The code point's <c>wchar_t</c> in the text <c>std::wregex</c> sees.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Folded(int cp) => (uint)cp > 0x7F && (UnicodeData.Flags(cp) & F.Whitespace) != 0 ? 0x0B : cp;

    /// <summary><c>\s</c> in both engines (the same set, whichever text it sees).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsRegexSpace(int cp) => Folded(cp) is (>= '\t' and <= '\r') or ' ';

    /// <summary>Which ASCII characters llama.cpp's collapsed \p{P} stands for (its <c>k_ucat_map</c>).</summary>
    private const string AsciiPunctuation = "!\"#%&'()*,-./:;?@[\\]_{}";

    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|]</c>, the first regex of the default list.</summary>
    private readonly struct PunctuationAndSymbols : ICodePointClass
    {
        private static readonly UInt128 Ascii = AsciiMask(AsciiPunctuation + "$+<=>^~|");

        public static bool Contains(int cp) => InMask(Ascii, Collapsed(cp), 0xD3);
    }

    /// <summary><c>[\p{P}\$\+&lt;=&gt;\^~\|`]</c>, Falcon's (the default's with a backquote).</summary>
    private readonly struct PunctuationSymbolsAndBackquote : ICodePointClass
    {
        private static readonly UInt128 Ascii = AsciiMask(AsciiPunctuation + "$+<=>^~|`");

        public static bool Contains(int cp) => InMask(Ascii, Collapsed(cp), 0xD3);
    }

    /// <summary>Collapsed <c>\p{P}</c>.</summary>
    private readonly struct Punctuation : ICodePointClass
    {
        private static readonly UInt128 Ascii = AsciiMask(AsciiPunctuation);

        public static bool Contains(int cp) => InMask(Ascii, Collapsed(cp), 0xD3);
    }

    /// <summary>Collapsed <c>\p{L}</c>.</summary>
    private readonly struct Letters : ICodePointClass
    {
        public static bool Contains(int cp) => Collapsed(cp) is 0xD2 or (>= 'A' and <= 'Z') or (>= 'a' and <= 'z');
    }

    /// <summary>Collapsed <c>\p{N}</c>.</summary>
    private readonly struct Numbers : ICodePointClass
    {
        public static bool Contains(int cp) => Collapsed(cp) is 0xD1 or (>= '0' and <= '9');
    }

    /// <summary><c>[0-9]</c> (in <c>std::wregex</c>: no other code point becomes a digit).</summary>
    private readonly struct AsciiDigits : ICodePointClass
    {
        public static bool Contains(int cp) => cp is >= '0' and <= '9';
    }

    /// <summary><c>[\r\n]</c>.</summary>
    private readonly struct LineBreak : ICodePointClass
    {
        public static bool Contains(int cp) => cp is '\r' or '\n';
    }

    /// <summary>DeepSeek LLM's letter class (<c>std::wregex</c>).</summary>
    private readonly struct DeepSeekLetters : ICodePointClass
    {
        private static readonly CodePointRanges Class = new("A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃");

        public static bool Contains(int cp) => Class.Contains(Folded(cp));
    }

    /// <summary>DeepSeek LLM's punctuation class (<c>std::wregex</c>): ASCII's and CJK's.</summary>
    private readonly struct DeepSeekPunctuation : ICodePointClass
    {
        private static readonly CodePointRanges Class = new("!-/:-~！-／：-～‘-‟\u3000-。");

        public static bool Contains(int cp) => Class.Contains(Folded(cp));
    }

    /// <summary>DeepSeek's CJK and Hangul class (<c>std::wregex</c>).</summary>
    private readonly struct CjkAndHangul : ICodePointClass
    {
        private static readonly CodePointRanges Class = new("一-龥ࠀ-一가-\uD7FF");

        public static bool Contains(int cp) => Class.Contains(Folded(cp));
    }

    private static UInt128 AsciiMask(string chars)
    {
        UInt128 mask = 0;
        foreach (char c in chars)
            mask |= UInt128.One << c;
        return mask;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool InMask(UInt128 ascii, int c, int collapsed)
        => c < 0x80 ? ((ascii >> c) & UInt128.One) != 0 : c == collapsed;

    /// <summary>A bracket expression's ranges and single code points, as the sorted, merged ranges they cover.</summary>
    private sealed class CodePointRanges
    {
        private readonly int[] _first;
        private readonly int[] _last;

        /// <summary>Reads the inside of a bracket expression without escapes or classes: <c>a-z</c> or <c>a</c>.</summary>
        public CodePointRanges(string bracket)
        {
            var cps = new List<int>();
            foreach (Rune rune in bracket.EnumerateRunes())
                cps.Add(rune.Value);
            var ranges = new List<(int First, int Last)>();
            for (int i = 0; i < cps.Count; i++)
            {
                bool isRange = i + 2 < cps.Count && cps[i + 1] == '-';
                ranges.Add((cps[i], isRange ? cps[i + 2] : cps[i]));
                if (isRange)
                    i += 2;
            }
            ranges.Sort();
            var merged = new List<(int First, int Last)>();
            foreach (var range in ranges)
            {
                if (merged.Count > 0 && range.First <= merged[^1].Last + 1)
                    merged[^1] = (merged[^1].First, Math.Max(merged[^1].Last, range.Last));
                else
                    merged.Add(range);
            }
            _first = merged.Select(r => r.First).ToArray();
            _last = merged.Select(r => r.Last).ToArray();
        }

        public bool Contains(int cp)
        {
            int i = Array.BinarySearch(_first, cp);
            if (i < 0)
                i = ~i - 1;
            return i >= 0 && cp <= _last[i];
        }
    }

    /// <summary><c>[X]+</c>: the runs of X, and the text between them.</summary>
    private readonly struct Runs<TClass> : IPass where TClass : ICodePointClass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            for (int pos = 0; pos < codePoints.Length;)
            {
                if (!TClass.Contains(codePoints[pos]))
                {
                    pos++;
                    continue;
                }
                int start = pos;
                while (++pos < codePoints.Length && TClass.Contains(codePoints[pos]))
                {
                }
                output.Match(start, pos);
            }
            output.EndAt(codePoints.Length);
        }
    }

    /// <summary><c>[X]</c>: each code point of X alone, and the text between them.</summary>
    private readonly struct Each<TClass> : IPass where TClass : ICodePointClass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            for (int pos = 0; pos < codePoints.Length; pos++)
            {
                if (TClass.Contains(codePoints[pos]))
                    output.Match(pos, pos + 1);
            }
            output.EndAt(codePoints.Length);
        }
    }

    /// <summary><c>\s?[X]+</c>: runs of X, each with the whitespace code point before it if there is one.</summary>
    private readonly struct SpaceThenRuns<TClass> : IPass where TClass : ICodePointClass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            int n = codePoints.Length;
            for (int pos = 0; pos < n;)
            {
                int start = pos;
                // \s? is greedy: it takes the space if X+ can follow, else X+ is tried at the space itself.
                if (IsRegexSpace(codePoints[pos]) && pos + 1 < n && TClass.Contains(codePoints[pos + 1]))
                    pos++;
                else if (!TClass.Contains(codePoints[pos]))
                {
                    pos++;
                    continue;
                }
                while (++pos < n && TClass.Contains(codePoints[pos]))
                {
                }
                output.Match(start, pos);
            }
            output.EndAt(n);
        }
    }

    /// <summary><c>\s+$</c>: the whitespace that ends the piece, if any (<c>$</c> is only the piece's end).</summary>
    private readonly struct TrailingWhitespace : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            int start = codePoints.Length;
            while (start > 0 && IsRegexSpace(codePoints[start - 1]))
                start--;
            output.Match(start, codePoints.Length);
        }
    }

    /// <summary><c>[0-9][0-9][0-9]</c>: three digits at a time, searching from the left.</summary>
    private readonly struct DigitTriples : IPass
    {
        public static void Split(ReadOnlySpan<int> codePoints, int offset, List<Range> words)
        {
            var output = new WordWriter(words, offset);
            for (int pos = 0; pos + 3 <= codePoints.Length;)
            {
                if (AsciiDigits.Contains(codePoints[pos]) && AsciiDigits.Contains(codePoints[pos + 1])
                    && AsciiDigits.Contains(codePoints[pos + 2]))
                {
                    output.Match(pos, pos + 3);
                    pos += 3;
                }
                else
                {
                    pos++;
                }
            }
            output.EndAt(codePoints.Length);
        }
    }
}
