using System.Globalization;
using System.Text;

namespace LlamaAot.Diagnostics;

/// <summary>
/// A string read from a file, fit to be quoted in an error message: a corrupt file's "name" can be kilobytes of binary,
/// which must not flood the terminal or drive it with control codes.
/// </summary>
internal static class Excerpt
{
    /// <summary>
    /// The widest a quote's text may be, escapes included: a tensor name (at most 63 bytes in GGUF; Hugging Face names
    /// run to about 60 characters) shows whole, while binary, four columns a byte as escapes, is cut sooner.
    /// </summary>
    public const int MaxWidth = 64;

    /// <summary>
    /// The string in single quotes, with control and invisible characters (and the replacement character that stands
    /// for bytes that were not UTF-8) as <c>\xNN</c> or <c>\uNNNN</c> escapes; cut after <see cref="MaxWidth"/> columns,
    /// then "... (N characters)".
    /// </summary>
    public static string Quote(string s)
    {
        var b = new StringBuilder("'");
        foreach (Rune r in s.EnumerateRunes())
        {
            int before = b.Length;
            if (r.Value is '\\' or '\'')
                b.Append('\\').Append((char)r.Value);
            else if (r.Value < 0x80 && Rune.IsControl(r))
                b.Append(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}");
            else if (Invisible(r))
                b.Append(CultureInfo.InvariantCulture, $"\\u{r.Value:x4}");
            else
                b.Append(r.ToString());
            if (b.Length - 1 > MaxWidth)
            {
                // Characters, not bytes: bytes that were not UTF-8 came back as U+FFFD, 3 bytes each in UTF-8 again.
                b.Length = before;
                return b.Append(CultureInfo.InvariantCulture, $"'... ({s.Length} characters)").ToString();
            }
        }
        return b.Append('\'').ToString();
    }

    private static bool Invisible(Rune r) => r.Value == 0xFFFD || Rune.GetUnicodeCategory(r) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
}
