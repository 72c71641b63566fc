using System.Globalization;
using System.Text;

namespace LlamaAot.Diagnostics;

/// <summary>
/// A string read from a file, fit to be quoted in an error message: a corrupt file's "name" can be kilobytes of binary,
/// which must not flood the terminal or drive it with control codes.
/// </summary>
public static class Excerpt
{
    /// <summary>
    /// The widest a quote's text may be, escapes included: a tensor name (at most 63 bytes in GGUF; Hugging Face names
    /// run to about 60 characters) shows whole, while binary, four columns a byte as escapes, is cut sooner.
    /// </summary>
    public const int MaxWidth = 64;

    /// <summary>The widest a path is shown whole: a path a person typed or a program made, not a corrupt one.</summary>
    public const int MaxPathWidth = 160;

    /// <summary>
    /// The string in single quotes, with control and invisible characters (and the replacement character that stands
    /// for bytes that were not UTF-8) as <c>\xNN</c> or <c>\uNNNN</c> escapes; cut after <see cref="MaxWidth"/> columns,
    /// then "... (N characters)".
    /// </summary>
    public static string Quote(string s)
    {
        var b = new StringBuilder("'");
        foreach (string shown in s.EnumerateRunes().Select(Escape))
        {
            if (b.Length - 1 + shown.Length > MaxWidth)
            {
                // Characters, not bytes: bytes that were not UTF-8 came back as U+FFFD, 3 bytes each in UTF-8 again.
                return b.Append(CultureInfo.InvariantCulture, $"'... ({s.Length} characters)").ToString();
            }
            b.Append(shown);
        }
        return b.Append('\'').ToString();
    }

    /// <summary>
    /// A path (from the command line, or a directory's listing) for a message: as it is when it is printable and at
    /// most <see cref="MaxPathWidth"/> columns; otherwise quoted with escapes as <see cref="Quote"/> does, and when
    /// too wide its start and its end (the directory and the file name) around "...", then "(N characters)".
    /// </summary>
    public static string Path(string path)
    {
        if (path.Length <= MaxPathWidth && path.EnumerateRunes().All(r => !Unprintable(r)))
            return path;
        var pieces = path.EnumerateRunes().Select(Escape).ToList();
        if (pieces.Sum(p => p.Length) <= MaxPathWidth)
            return $"'{string.Concat(pieces)}'";
        var head = new StringBuilder();
        foreach (string shown in pieces)
        {
            if (head.Length + shown.Length > MaxPathWidth * 2 / 3)
                break;
            head.Append(shown);
        }
        var tail = new List<string>();
        for (int i = pieces.Count - 1, tailWidth = 0; tailWidth + pieces[i].Length <= MaxPathWidth / 3; tailWidth += pieces[i--].Length)
            tail.Add(pieces[i]);
        tail.Reverse();
        return string.Create(CultureInfo.InvariantCulture, $"'{head}...{string.Concat(tail)}' ({path.Length} characters)");
    }

    /// <summary>A character as a quote shows it: itself, or its escape.</summary>
    private static string Escape(Rune r) =>
        r.Value is '\\' or '\'' ? $"\\{(char)r.Value}"
        : r.Value < 0x80 && Rune.IsControl(r) ? string.Create(CultureInfo.InvariantCulture, $"\\x{r.Value:x2}")
        : Unprintable(r) ? string.Create(CultureInfo.InvariantCulture, $"\\u{r.Value:x4}")
        : r.ToString();

    /// <summary>A character a terminal would act on or not show: control and format characters, separators, private
    /// and unassigned code points, and the replacement character that stands for bytes that were not UTF-8.</summary>
    private static bool Unprintable(Rune r) => r.Value == 0xFFFD || Rune.GetUnicodeCategory(r) is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
}
