using LlamaAot.Tests.Grammars;

namespace LlamaAot.Tests.Cli;

/// <summary>--grammar, --grammar-file, -j, -jf through the binary: output in the grammar, and one error line for a bad one.</summary>
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
