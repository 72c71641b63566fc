using LlamaAot.Sampling;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Grammars;

/// <summary>Every case of llama.cpp's grammar-integration test gives llama.cpp's verdict on every string.</summary>
public sealed class GrammarIntegrationTests(ITestOutputHelper output)
{
    public static TheoryData<string> GrammarCaseNames() => [.. GrammarCases.All.Where(c => c.Kind == "grammar").Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(GrammarCaseNames))]
    public void GrammarCaseGivesLlamaCppsVerdicts(string name)
    {
        var c = GrammarCases.All.Single(c => c.Kind == "grammar" && c.Name == name);
        var grammar = Grammar.Parse(c.Source);
        var wrong = c.Passing.Where(s => !GrammarCases.Matches(grammar, s)).Select(s => $"rejected '{s}'")
            .Concat(c.Failing.Where(s => GrammarCases.Matches(grammar, s)).Select(s => $"accepted '{s}'")).ToList();
        output.WriteLine($"{name}: {c.Passing.Length + c.Failing.Length - wrong.Count} of {c.Passing.Length + c.Failing.Length} strings as llama.cpp");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    public static TheoryData<int> SchemaCaseIndices() =>
        [.. GrammarCases.All.Select((c, i) => (c, i)).Where(x => x.c.Kind == "schema").Select(x => x.i)];

    /// <summary>A schema case, converted to a grammar, gives llama.cpp's verdicts (two cases share a name: by index).</summary>
    [Theory]
    [MemberData(nameof(SchemaCaseIndices))]
    public void SchemaCaseGivesLlamaCppsVerdicts(int index)
    {
        var c = GrammarCases.All[index];
        var grammar = Grammar.FromJsonSchema(c.Source);
        var wrong = c.Passing.Where(s => !GrammarCases.Matches(grammar, s)).Select(s => $"rejected '{s}'")
            .Concat(c.Failing.Where(s => GrammarCases.Matches(grammar, s)).Select(s => $"accepted '{s}'")).ToList();
        output.WriteLine($"{c.Name}: {c.Passing.Length + c.Failing.Length - wrong.Count} of {c.Passing.Length + c.Failing.Length} strings as llama.cpp");
        Assert.True(wrong.Count == 0, $"{c.Name}:\n{string.Join("\n", wrong)}\n{grammar.Source}");
    }

    /// <summary>The file holds llama.cpp's 47 cases (14 grammars, 2 of them with tokens; 33 schemas): none is skipped.</summary>
    [Fact]
    public void ReadsEveryCase()
    {
        Assert.Equal(47, GrammarCases.All.Count);
        Assert.Equal(14, GrammarCases.All.Count(c => c.Kind == "grammar"));
        Assert.Equal(2, GrammarCases.All.Count(c => c.TokenStrings));
        output.WriteLine($"{GrammarCases.All.Sum(c => c.Passing.Length + c.Failing.Length)} strings in all");
    }

    public static TheoryData<string> GbnfFiles() =>
        [.. Directory.GetFiles(Path.Combine(GrammarCases.Directory, "gbnf"), "*.gbnf").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(GbnfFiles))]
    public void ExampleGrammarParses(string file)
    {
        var grammar = Grammar.Parse(File.ReadAllText(Path.Combine(GrammarCases.Directory, "gbnf", file)));
        Assert.NotEmpty(grammar.RuleNames);
        Assert.NotEmpty(new GrammarMatcher(grammar, GrammarCases.TestVocabulary).Stacks);
    }
}
