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
