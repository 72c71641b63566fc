using System.Globalization;
using System.Text.RegularExpressions;
using LlamaAot.Tests.Grammars;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// --grammar, --grammar-file, -j, -jf through the binary: output in the grammar, the grammar's perf line, and one error
/// line for a bad one.
/// </summary>
public sealed class GrammarCliTests
{
    private static readonly string Model = Shared.Stories260K("F32");

    [Fact]
    public void GrammarFileConstrainsTheOutput()
    {
        string file = Path.Combine(GrammarCases.Directory, "gbnf", "list.gbnf");
        var r = LlamaAotProcess.Run("-m", Model, "-p", "", "-s", "4", "-c", "512", "-n", "400", "--grammar-file", file);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("stopped: end of sequence", r.Stderr);
        Assert.True(GrammarCases.Matches(LlamaAot.Sampling.Grammar.Parse(File.ReadAllText(file)), r.Stdout[..^1]), r.Stdout); // run ends with a line end
    }

    private static readonly Regex GrammarLine = new(
        @"^llama-aot: +grammar: +(\d+) tokens, (\d+) full-vocabulary passes \((\d+\.\d)%\), (\d+\.\d{3}) ms per token$", RegexOptions.Multiline);

    private static readonly Regex SampleLine = new(@"^llama-aot: +sample: +(\d+) tokens in", RegexOptions.Multiline);

    /// <summary>
    /// json.gbnf on stories260K, a model that knows no JSON: its first choice breaks the grammar at once (the text
    /// must open with '{' or '['), so at least one full pass is certain; the line sits with the other timings.
    /// </summary>
    [Fact]
    public void TimingsGiveTheGrammarsFullPassShare()
    {
        string file = Path.Combine(GrammarCases.Directory, "gbnf", "json.gbnf");
        var r = LlamaAotProcess.Run("-m", Model, "-p", "", "-s", "1", "-c", "512", "-n", "24", "-t", "1", "--grammar-file", file);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var m = GrammarLine.Match(r.Stderr);
        Assert.True(m.Success, r.Stderr);
        int tokens = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), passes = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        // Every sampled token is counted, end of generation too (the sample line does not count that one).
        int sampled = int.Parse(SampleLine.Match(r.Stderr).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(sampled + (r.Stderr.Contains("stopped: end of sequence", StringComparison.Ordinal) ? 1 : 0), tokens);
        Assert.InRange(passes, 1, tokens);
        Assert.Equal((100.0 * passes / tokens).ToString("F1", CultureInfo.InvariantCulture), m.Groups[3].Value);
        Assert.True(double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture) > 0, m.Value);
        string[] lines = r.Stderr.Split('\n');
        Assert.Equal(Array.FindIndex(lines, l => SampleLine.IsMatch(l)) + 1, Array.FindIndex(lines, l => GrammarLine.IsMatch(l)));
    }

    [Fact]
    public void NoGrammarNoGrammarLine()
    {
        var r = LlamaAotProcess.Run("-m", Model, "-p", "", "-s", "1", "-n", "8", "-t", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Matches(SampleLine, r.Stderr);
        Assert.DoesNotContain("grammar", r.Stderr, StringComparison.Ordinal);
    }

    /// <summary>chat prints the grammar's line after each answer's <c>[ Prompt: ... ]</c> line (standard input closed: one answer).</summary>
    [Fact]
    public void ChatGivesTheGrammarsLineAfterEachAnswer()
    {
        var r = LlamaAotProcess.RunRedirected("</dev/null", "chat", "-m", Model, "-p", "hi", "-s", "1", "-c", "256", "-n", "12", "-t", "1", "--grammar", "root ::= [a-z ]+");
        Assert.True(r.ExitCode == 0, r.Stderr);
        string[] lines = r.Stderr.Split('\n');
        int prompt = Array.FindIndex(lines, l => l.StartsWith("llama-aot: [ Prompt: ", StringComparison.Ordinal));
        Assert.True(prompt >= 0, r.Stderr);
        Assert.Matches(@"^llama-aot: \[ Grammar: \d+ tokens, \d+ full-vocabulary passes \(\d+\.\d%\), \d+\.\d{3} ms per token \]$", lines[prompt + 1]);
    }

    [Theory]
    [InlineData(new[] { "--grammar", "root ::= [a-z" }, 2, "error: --grammar: line 1, column 10: unterminated character class: expected a closing ']'")]
    [InlineData(new[] { "--grammar", "root ::= \"a\"", "--json-schema", "{}" }, 2, "error: give one output constraint, not --grammar and --json-schema")]
    [InlineData(new[] { "-j", "{\"type\": \"object\", \"uniqueItems\": 1, \"not\": {}}" }, 2, "error: --json-schema: JSON schema error at '#': the keyword 'not' is not supported")]
    [InlineData(new[] { "-jf", "/nonexistent/schema.json" }, 1, "error: file not found: /nonexistent/schema.json")]
    [InlineData(new[] { "--grammar", "root ::= <|im_end|>" }, 1, "error: the grammar's token '<|im_end|>' is not one token of this model's vocabulary")]
    public void BadGrammarOrSchemaIsOneErrorLine(string[] flags, int exitCode, string message)
    {
        var r = LlamaAotProcess.Run(["-m", Model, "-n", "4", .. flags]);
        Assert.Equal(exitCode, r.ExitCode);
        string[] errors = r.Stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.Single(errors);
        Assert.StartsWith(message, errors[0]);
    }

    [Fact]
    public void BadGrammarFileNamesTheFileLineAndColumn()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "root ::= item+\n\nitem ::= \"- \" [^\\n]+ \"\\n\" |\n  (\"x\"\n");
            var r = LlamaAotProcess.Run("-m", Model, "-n", "4", "--grammar-file", file);
            Assert.Equal(1, r.ExitCode);
            Assert.Equal($"error: {file}: line 5, column 1: expected ')' to close the group opened at line 4, column 3, found the end of the grammar", r.Stderr.Trim());
        }
        finally
        {
            File.Delete(file);
        }
    }
}
