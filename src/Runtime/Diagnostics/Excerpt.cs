using System.Globalization;
using System.Text;

namespace LlamaAot.Diagnostics;

/// <summary>
/// A string read from a file, fit to be quoted in an error message: a corrupt file's "name" can be kilobytes of binary,
/// which must not flood the terminal or drive it with control codes.
/// </summary>
internal static class Excerpt
{
    /// <summary>Most characters of the string a quote shows.</summary>
    public const int MaxChars = 40;

    /// <summary>
    /// The string in single quotes: its first <see cref="MaxChars"/> characters, with control and invisible characters
    /// (and the replacement character that stands for bytes that were not UTF-8) as <c>\xNN</c> or <c>\uNNNN</c>
    /// escapes, then "... (N characters)" when it was longer.
    /// </summary>
    public static string Quote(string s)
    {
        var b = new StringBuilder("'");
        int shown = 0;
        foreach (Rune r in s.EnumerateRunes())
        {
            if (shown++ == MaxChars)
            {
                // Characters, not bytes: bytes that were not UTF-8 came back as U+FFFD, 3 bytes each in UTF-8 again.
                b.Append(CultureInfo.InvariantCulture, $"'... ({s.Length} characters)");
                return b.ToString();
            }
            if (r.Value is '\\' or '\'')
                b.Append('\\').Append((char)r.Value);
            else if (r.Value < 0x80 && Rune.IsControl(r))
                b.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
            else if (Invisible(r))
                b.Append(CultureInfo.InvariantCulture, $"\\u{r.Value:x4}");
            else
                b.Append(r.ToString());
        }
        return b.Append('\'').ToString();
    }

    private static bool Invisible(Rune r) => r.Value == 0xFFFD || Rune.GetUnicodeCategory(r) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
}
