using System.Text;
using System.Text.Json;
using LlamaAot.Sampling;

namespace LlamaAot.Tests.Grammars;

/// <summary>
/// llama.cpp 0.5.0's grammar-integration cases (reference/grammar/integration-cases.json) and the recognizer run
/// its test runs them: a string is fed as llama.cpp's test feeds it, each code point as token 0 with that
/// character as its piece and each <c>&lt;[N]&gt;</c> as token N with that text, and it matches when no step
/// empties the stacks and a stack is empty (the sentence is complete) at the end.
/// </summary>
internal static class GrammarCases
{
    public sealed record Case(string Kind, string Name, string Source, string[] Passing, string[] Failing, bool TokenStrings)
    {
        public override string ToString() => $"{Kind}: {Name}";
    }

    public static string Directory => Path.Combine(Shared.Reference, "grammar");

    public static IReadOnlyList<Case> All { get; } = Load();

    private static List<Case> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "integration-cases.json")));
        return [.. doc.RootElement.EnumerateArray().Select(e => new Case(
            e.GetProperty("kind").GetString()!,
            e.GetProperty("name").GetString()!,
            e.GetProperty("source").GetString()!,
            [.. e.GetProperty("passing").EnumerateArray().Select(s => s.GetString()!)],
            [.. e.GetProperty("failing").EnumerateArray().Select(s => s.GetString()!)],
            e.TryGetProperty("token_strings", out var t) && t.GetBoolean()))];
    }

    /// <summary>A vocabulary for the recognizer alone: token ids up to 64, none of them ending generation.</summary>
    public static GrammarVocabulary TestVocabulary { get; } = new(
        [.. Enumerable.Range(0, 64).Select(i => Encoding.UTF8.GetBytes($"<[{i}]>"))], new bool[64]);

    /// <summary>llama.cpp's <c>match_string</c> in test-grammar-integration.cpp.</summary>
    public static bool Matches(Grammar grammar, string input) => Read(grammar, input) == Verdict.Sentence;

    public enum Verdict { Leaves, Prefix, Sentence }

    /// <summary>Whether <paramref name="input"/> leaves the grammar, is the start of a sentence, or a whole one.</summary>
    public static Verdict Read(Grammar grammar, string input)
    {
        var matcher = new GrammarMatcher(grammar, TestVocabulary);
        foreach (var (token, piece) in Pieces(input))
        {
            try
            {
                matcher.AcceptPiece(token, Encoding.UTF8.GetBytes(piece));
            }
            catch (GrammarException)
            {
                return Verdict.Leaves;
            }
        }
        return matcher.IsComplete ? Verdict.Sentence : Verdict.Prefix;
    }

    /// <summary>The string as llama.cpp's test splits it: <c>&lt;[N]&gt;</c> as token N, every other code point as token 0.</summary>
    public static IEnumerable<(int Token, string Piece)> Pieces(string input)
    {
        for (int i = 0; i < input.Length;)
        {
            if (input[i] == '<' && i + 1 < input.Length && input[i + 1] == '[')
            {
                int close = input.IndexOf("]>", i, StringComparison.Ordinal);
                if (close > 0 && int.TryParse(input.AsSpan(i + 2, close - i - 2), out int id))
                {
                    yield return (id, input[i..(close + 2)]);
                    i = close + 2;
                    continue;
                }
            }
            int len = char.IsSurrogatePair(input, i) ? 2 : 1;
            yield return (0, input.Substring(i, len));
            i += len;
        }
    }
}
