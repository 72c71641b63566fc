using System.Text.RegularExpressions;

namespace LlamaAot.Tokenizers;

// Interim stand-in for the issue11-unicode branch (removed when it is merged).
internal enum PreTokenizerKind { Default, Llama3, Qwen2, Qwen35, Gpt2, DeepSeekLlm, DeepSeekCoder, Falcon, StarCoder, Lines }

internal static class Utf8CodePoints
{
    public static void Decode(ReadOnlySpan<byte> utf8, List<int> codePoints)
    {
        string s = System.Text.Encoding.UTF8.GetString(utf8);
        foreach (var r in s.EnumerateRunes())
            codePoints.Add(r.Value);
    }
}

internal static class PreTokenizer
{
    private static readonly Regex Gpt2 = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+", RegexOptions.Compiled);
    private static readonly Regex Llama3 = new(@"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+", RegexOptions.Compiled);

    public static void Split(PreTokenizerKind kind, ReadOnlySpan<int> codePoints, List<Range> words)
    {
        var sb = new System.Text.StringBuilder();
        var starts = new List<int>();
        for (int i = 0; i < codePoints.Length; i++)
        {
            starts.Add(sb.Length);
            sb.Append(char.ConvertFromUtf32(codePoints[i]));
        }
        starts.Add(sb.Length);
        string s = sb.ToString();
        var re = kind == PreTokenizerKind.Llama3 ? Llama3 : kind == PreTokenizerKind.Lines ? new Regex("[^\n]+|[\n]+") : Gpt2;
        foreach (Match m in re.Matches(s))
        {
            int a = starts.IndexOf(m.Index), b = starts.IndexOf(m.Index + m.Length);
            words.Add(a..b);
        }
    }
}

internal readonly record struct InterimFlags(bool IsWhitespace, bool IsControl, bool IsAccentMark, bool IsPunctuation, bool IsSymbol);

internal static class Unicode
{
    public static InterimFlags Flags(int cp)
    {
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return default;
        var cat = System.Globalization.CharUnicodeInfo.GetUnicodeCategory(cp);
        bool ws = System.Text.Rune.IsWhiteSpace(new System.Text.Rune(cp));
        return new InterimFlags(ws, cat == System.Globalization.UnicodeCategory.Control,
            cat is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark or System.Globalization.UnicodeCategory.EnclosingMark,
            cat is >= System.Globalization.UnicodeCategory.ConnectorPunctuation and <= System.Globalization.UnicodeCategory.OtherPunctuation,
            cat is >= System.Globalization.UnicodeCategory.MathSymbol and <= System.Globalization.UnicodeCategory.OtherSymbol);
    }

    public static int ToLower(int cp) => cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? cp : System.Text.Rune.ToLowerInvariant(new System.Text.Rune(cp)).Value;

    public static IReadOnlyList<int> NormalizeNfd(List<int> cps)
    {
        var result = new List<int>();
        foreach (int cp in cps)
        {
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { result.Add(cp); continue; }
            string d = char.ConvertFromUtf32(cp).Normalize(System.Text.NormalizationForm.FormD);
            result.Add(char.ConvertToUtf32(d, 0));
        }
        return result;
    }
}
