using LlamaAot.Sampling;

namespace LlamaAot.Tests.Grammars;

/// <summary>The GBNF parser: llama.cpp's syntax, and errors that say where and what was expected.</summary>
public sealed class GbnfParserTests
{
    [Theory]
    [InlineData("root ::= \"a\" %", 1, 14, "expected a rule element, '|' or the end of the line, found '%'")]
    [InlineData("root ::= \"a\"\nitem ::= [a-z", 2, 10, "unterminated character class")]
    [InlineData("root ::= \"abc", 1, 10, "unterminated string literal")]
    [InlineData("root := \"a\"", 1, 6, "expected '::=' after the rule name 'root', found ':'")]
    [InlineData("root ::= (\"a\" | \"b\"\n  %", 2, 3, "expected ')' to close the group opened at line 1, column 10, found '%'")]
    [InlineData("root ::= \"\\q\"", 1, 11, "unknown escape '\\q'")]
    [InlineData("root ::= \"\\x4\"", 1, 14, "expected 2 hexadecimal digits after '\\x', found '\"'")]
    [InlineData("root ::= item\n", 1, 10, "rule 'item' is used but never defined")]
    [InlineData("root ::= * \"a\"", 1, 10, "a repetition operator needs an element before it")]
    [InlineData("root ::= \"a\"{2001}", 1, 13, "a repetition of at least 2001 is more than the 2000 allowed")]
    [InlineData("root ::= \"a\"{3,2}", 1, 13, "the repetition's maximum 2 is below its minimum 3")]
    [InlineData("root ::= \"a\"{x}", 1, 14, "expected an integer, found 'x'")]
    [InlineData("root ::= !\"a\"", 1, 11, "expected '<' after '!'")]
    [InlineData("root ::= <[12\"", 1, 14, "expected ']' after the token id")]
    [InlineData("  ::= \"a\"", 1, 3, "expected a rule name")]
    public void SyntaxErrorSaysLineColumnAndWhatWasExpected(string gbnf, int line, int column, string message)
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.Parse(gbnf));
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.Contains(message, e.Message);
        Assert.StartsWith($"line {line}, column {column}: ", e.Message);
    }

    [Theory]
    [InlineData("", "the grammar has no rules")]
    [InlineData("# only a comment\n", "the grammar has no rules")]
    [InlineData("item ::= \"a\"", "the grammar has no 'root' rule")]
    [InlineData("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]", "left recursion: rule 'expr'")]
    [InlineData("root ::= a\na ::= b \"x\"\nb ::= c\nc ::= | a", "left recursion")]
    [InlineData("root ::= (\"a\"{0,50}){0,50}", "repetitions nest into more than 2000 rules")]
    public void GrammarErrors(string gbnf, string message)
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.Parse(gbnf));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ReadsEverySyntaxForm()
    {
        // Comments, escapes of every kind, classes with ranges and negation, any-char, groups over lines,
        // every repetition form, and the token forms.
        string gbnf = """
            # a comment
            root ::= greeting (" " | "\t")+ name? tail{2} num{1,} hex{0,3} any <[5]> !<[6]> <|im_end|>   # trailing
            greeting ::= "h\x69" | "\u00e9t\U0001F642"
            name ::= [A-Za-z_] [^\n\r\]\-]*
            tail ::= (
              "." |
              "!"
            )
            num ::= [0-9]
            hex ::= [0-9a-fA-F]
            any ::= .
            """;
        var grammar = Grammar.Parse(gbnf);
        Assert.Contains("root", grammar.RuleNames);
        Assert.Equal(["<|im_end|>"], grammar.TokenTexts);
        Assert.Equal(gbnf, grammar.Source);
    }

    [Fact]
    public void RepetitionsBehaveAsLlamaCppRewritesThem()
    {
        var grammar = Grammar.Parse("root ::= \"a\"{2,4} \"b\"?");
        string[] yes = ["aa", "aab", "aaaa", "aaaab"], no = ["a", "aaaaa", "ab", "aabb"];
        Assert.All(yes, s => Assert.True(GrammarCases.Matches(grammar, s), s));
        Assert.All(no, s => Assert.False(GrammarCases.Matches(grammar, s), s));
    }

    [Fact]
    public void AMaximumPastTheBoundMeansNone()
    {
        var grammar = Grammar.Parse("root ::= \"a\"{1,5000}");
        Assert.True(GrammarCases.Matches(grammar, new string('a', 3000)));
    }

    [Fact]
    public void NestingPastTheBoundIsAnErrorNotAStackOverflow()
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.Parse("root ::= " + new string('(', 100_000) + "\"a\"" + new string(')', 100_000)));
        Assert.Contains("groups nest more than", e.Message);
    }

    [Fact]
    public void ElementsPastTheBoundAreAnError()
    {
        string gbnf = "root ::= " + string.Concat(Enumerable.Repeat("[a-z0-9]{2000} ", 1000));
        var e = Assert.Throws<GrammarException>(() => Grammar.Parse(gbnf));
        Assert.Contains("expands to more than", e.Message);
    }

    [Fact]
    public void GrowingRecursionTheLeftRecursionCheckLetsThroughStopsAtTheStackBound()
    {
        // x derives the empty string only through y: llama.cpp's check (and this one) lets e through; its parse
        // stack would grow forever at the first step.
        var grammar = Grammar.Parse("root ::= e\ne ::= x e \"a\" | \"b\"\nx ::= y\ny ::= ");
        var e = Assert.Throws<GrammarException>(() => new GrammarMatcher(grammar, GrammarCases.TestVocabulary));
        Assert.Matches("parse stack grew past|parse stacks at once", e.Message);
    }
}
