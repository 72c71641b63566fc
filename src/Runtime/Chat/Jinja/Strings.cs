using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>Python's notions of whitespace and line breaks, and indexing by code point (a Python str's unit).</summary>
internal static class Strings
{
    /// <summary>Characters Python's <c>str.isspace</c> accepts, the default of <c>strip</c> and <c>split</c>.</summary>
    public static readonly char[] WhitespaceChars =
    [
        '\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\x85', '\xa0', '\u1680', '\u2000', '\u2001',
        '\u2002', '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u2028', '\u2029',
        '\u202f', '\u205f', '\u3000',
    ];

    public static bool IsWhitespace(char c) => c <= ' ' ? c is ' ' or (>= '\t' and <= '\r') or (>= '\x1c' and <= '\x1f') : Array.IndexOf(WhitespaceChars, c) >= 0;

    /// <summary>Where Python's <c>str.splitlines</c> breaks (\r\n counts once; the caller handles that pair).</summary>
    public static bool IsLineBreak(char c) => c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029';

    /// <summary>Python's <c>str.splitlines()</c>.</summary>
    public static List<string> SplitLines(string s, bool keepEnds = false)
    {
        var lines = new List<string>();
        int start = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (!IsLineBreak(s[i]))
                continue;
            int end = i;
            if (s[i] == '\r' && i + 1 < s.Length && s[i + 1] == '\n')
                i++;
            lines.Add(keepEnds ? s[start..(i + 1)] : s[start..end]);
            start = i + 1;
        }
        if (start < s.Length)
            lines.Add(s[start..]);
        return lines;
    }

    /// <summary>True when <paramref name="s"/> has no surrogate pair, so char indexes are code point indexes.</summary>
    private static bool IsBmp(string s) => s.AsSpan().IndexOfAnyInRange('\ud800', '\udfff') < 0;

    /// <summary>The code points of <paramref name="s"/> as strings (one or two chars each).</summary>
    public static List<string> CodePoints(string s)
    {
        var points = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                points.Add(s.Substring(i, 2));
                i++;
            }
            else
                points.Add(s[i].ToString());
        }
        return points;
    }

    /// <summary>Python's <c>len(str)</c>.</summary>
    public static int Length(string s) => IsBmp(s) ? s.Length : CodePoints(s).Count;

    /// <summary>Python's <c>str[i]</c>, or null when out of range.</summary>
    public static string? At(string s, long index)
    {
        if (IsBmp(s))
        {
            long i = index < 0 ? index + s.Length : index;
            return i >= 0 && i < s.Length ? s[(int)i].ToString() : null;
        }
        var points = CodePoints(s);
        long j = index < 0 ? index + points.Count : index;
        return j >= 0 && j < points.Count ? points[(int)j] : null;
    }

    /// <summary>Python's <c>str[start:stop:step]</c>.</summary>
    public static string Slice(string s, long? start, long? stop, long? step)
    {
        var points = IsBmp(s) ? null : CodePoints(s);
        int count = points?.Count ?? s.Length;
        var b = new StringBuilder();
        foreach (int i in Python.SliceIndexes(count, start, stop, step))
        {
            if (points is null)
                b.Append(s[i]);
            else
                b.Append(points[i]);
        }
        return b.ToString();
    }

    /// <summary>Python's <c>str.strip(chars)</c> family; null chars means whitespace.</summary>
    public static string Strip(string s, string? chars, bool left, bool right)
    {
        char[] set = chars is null ? WhitespaceChars : chars.ToCharArray();
        return left && right ? s.Trim(set) : left ? s.TrimStart(set) : s.TrimEnd(set);
    }

    /// <summary>Python's <c>str.split(sep, maxsplit)</c> (null sep: runs of whitespace, empty ends dropped).</summary>
    public static List<string> Split(string s, string? separator, long maxSplit)
    {
        var parts = new List<string>();
        if (separator is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsWhitespace(s[i]))
                    i++;
                if (i >= s.Length)
                    break;
                if (maxSplit >= 0 && parts.Count == maxSplit)
                {
                    parts.Add(s[i..]);
                    break;
                }
                int start = i;
                while (i < s.Length && !IsWhitespace(s[i]))
                    i++;
                parts.Add(s[start..i]);
            }
            return parts;
        }
        if (separator.Length == 0)
            throw new JinjaException("ValueError", "empty separator");
        int from = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int at = s.IndexOf(separator, from, StringComparison.Ordinal);
            if (at < 0)
                break;
            parts.Add(s[from..at]);
            from = at + separator.Length;
        }
        parts.Add(s[from..]);
        return parts;
    }

    /// <summary>Python's <c>str.rsplit(sep, maxsplit)</c>.</summary>
    public static List<string> RSplit(string s, string? separator, long maxSplit)
    {
        if (maxSplit < 0)
            return Split(s, separator, -1);
        if (separator is null)
        {
            var words = Split(s, null, -1);
            if (words.Count <= maxSplit + 1)
                return words;
            // The head keeps its inner whitespace: cut after the word that starts the last maxSplit words.
            int end = s.Length;
            var tail = new List<string>();
            for (int n = 0; n < maxSplit; n++)
            {
                while (end > 0 && IsWhitespace(s[end - 1]))
                    end--;
                int start = end;
                while (start > 0 && !IsWhitespace(s[start - 1]))
                    start--;
                tail.Insert(0, s[start..end]);
                end = start;
            }
            return [s[..end].TrimEnd(WhitespaceChars), .. tail];
        }
        if (separator.Length == 0)
            throw new JinjaException("ValueError", "empty separator");
        var parts = new List<string>();
        int to = s.Length;
        while (parts.Count < maxSplit)
        {
            int at = to == 0 ? -1 : s.LastIndexOf(separator, to - 1, StringComparison.Ordinal);
            if (at < 0 || at + separator.Length > to)
                break;
            parts.Insert(0, s[(at + separator.Length)..to]);
            to = at;
        }
        parts.Insert(0, s[..to]);
        return parts;
    }

    /// <summary><c>separator.join(parts)</c>, failing as soon as the result passes the build limit.</summary>
    public static string Join(string separator, IEnumerable<string> parts)
    {
        var b = new StringBuilder();
        bool first = true;
        foreach (string part in parts)
        {
            if (!first)
                b.Append(separator);
            first = false;
            b.Append(part);
            BuildLimit.Check(b.Length);
        }
        return b.ToString();
    }

    /// <summary>Python's <c>str.title()</c>: a letter after a non-letter is upper case, other letters lower case.</summary>
    public static string Title(string s)
    {
        var b = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            b.Append(previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            previousCased = char.IsLetter(c);
        }
        return b.ToString();
    }

    /// <summary>Python's <c>str.capitalize()</c>.</summary>
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();
}
