using System.Text;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>
/// The cases of PreTokenizerFixture/splits.txt: llama.cpp 0.5.0's own results, written by
/// PreTokenizerFixture/make_fixture.py (its docstring says how; it compiles PreTokenizerFixture/harness.cpp against
/// llama.cpp's src/unicode.cpp and src/unicode-data.cpp). Each case is a text (a string of
/// ../shared/reference/{tokenizers,vocab}/*.inp, read here in place, or a seeded random one stored in the file), the
/// code points llama.cpp decodes from it when it is not valid UTF-8, and per <see cref="PreTokenizerKind"/> the
/// lengths of the words <c>unicode_regex_split</c> gives, or "!" and llama.cpp's exception.
/// </summary>
internal static class PreTokenizerFixture
{
    public sealed record Case(string Name, byte[] Text, int[]? CodePoints, Dictionary<PreTokenizerKind, string> Expected);

    public static IReadOnlyList<Case> Cases { get; } = Read();

    private static List<Case> Read()
    {
        var cases = new List<Case>();
        foreach (string line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Tokenizers", "PreTokenizerFixture", "splits.txt")))
        {
            if (line.StartsWith('#'))
                continue;
            string[] fields = line.Split(' ', 2);
            if (fields[0] == "case")
            {
                cases.Add(new Case(fields[1], ReadText(fields[1]), null, []));
            }
            else if (fields[0] == "cps")
            {
                int[] codePoints = fields[1].Split(' ').Select(hex => Convert.ToInt32(hex, 16)).ToArray();
                cases[^1] = cases[^1] with { CodePoints = codePoints };
            }
            else
            {
                foreach (string kind in fields[0].Split(','))
                    cases[^1].Expected.Add(Enum.Parse<PreTokenizerKind>(kind), fields.Length > 1 ? fields[1] : "");
            }
        }
        return cases;
    }

    // "inp DIR/FILE INDEX" or "text BASE64"
    private static byte[] ReadText(string name)
    {
        string[] parts = name.Split(' ');
        if (parts[0] == "text")
            return Convert.FromBase64String(parts[1]);
        var vectors = File.ReadAllBytes(Path.Combine(Shared.Reference, parts[1]));
        ReadOnlySpan<byte> separator = "\n__ggml_vocab_test__\n"u8;
        ReadOnlySpan<byte> rest = vectors;
        for (int i = int.Parse(parts[2]); i > 0; i--)
            rest = rest[(rest.IndexOf(separator) + separator.Length)..];
        int end = rest.IndexOf(separator);
        return (end < 0 ? rest : rest[..end]).ToArray();
    }

    public static string Describe(Case c) => $"{c.Name} ({Encoding.UTF8.GetString(c.Text).ReplaceLineEndings("\\n")})";
}
