using System.Text.Json.Nodes;
using LlamaAot.Chat.Jinja;

namespace LlamaAot.Tests.Chat;

/// <summary>
/// The Jinja engine piece by piece: JinjaCases/cases.json holds templates exercising each statement, expression,
/// filter, test, method and whitespace rule, with what Python's jinja2 3.1 rendered for them with transformers'
/// settings (make-cases.py); plus the sandbox and the bounds a hostile template meets.
/// </summary>
public sealed class JinjaEngineTests
{
    private static readonly DateTime Now = new(2026, 7, 26, 10, 0, 0);

    private static readonly JsonNode Corpus = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Chat", "JinjaCases", "cases.json")))!;

    public static TheoryData<int> CaseIndexes() => [.. Enumerable.Range(0, Corpus["cases"]!.AsArray().Count)];

    private static string Render(string template, JinjaLimits? limits = null, JsonNode? messages = null) =>
        JinjaTemplate.Compile(template).Render(new Dictionary<string, JsonNode?>
        {
            ["messages"] = messages?.DeepClone() ?? new JsonArray(),
            ["add_generation_prompt"] = true,
            ["bos_token"] = "<BOS>",
            ["eos_token"] = "<EOS>",
        }, () => Now, limits);

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void RendersAsPythonJinja2(int index)
    {
        JsonNode c = Corpus["cases"]![index]!;
        string template = (string)c["template"]!;
        string? expected = (string?)c["output"], error = (string?)c["error"];
        if (expected is not null)
        {
            Assert.Equal(expected, Render(template, messages: Corpus["messages"]));
            return;
        }
        var e = Assert.Throws<JinjaException>(() => Render(template, messages: Corpus["messages"]));
        string kind = error!.Split(':')[0];
        Assert.Equal(kind, e.Kind);
        // Runtime errors say what jinja2 says; syntax errors say it in llama-aot's words, with line and column.
        if (kind == "TemplateSyntaxError")
            Assert.True(e.Line > 0 && e.Column > 0, e.Message);
        else
            Assert.StartsWith(error, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0, "1.0")]
    [InlineData(-2.5e-7, "-2.5e-07")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(1e16, "1e+16")]
    [InlineData(9999999999999998.0, "9999999999999998.0")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(1.0 / 3, "0.3333333333333333")]
    [InlineData(double.PositiveInfinity, "inf")]
    public void FloatsPrintAsPythonRepr(double value, string expected) => Assert.Equal(expected, Python.FloatRepr(value));

    [Fact]
    public void SyntaxErrorsCarryLineAndColumn()
    {
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Compile("line one\n{% if x %}\n  {{ 1 + }}\n{% endif %}"));
        Assert.Equal(("TemplateSyntaxError", 3, 10), (e.Kind, e.Line, e.Column));
    }

    [Fact]
    public void RuntimeErrorsCarryTheLine()
    {
        var e = Assert.Throws<JinjaException>(() => Render("a\n\n{{ raise_exception('stop here') }}"));
        Assert.Equal("TemplateError: stop here (template line 3)", e.Message);
    }

    [Theory]
    [InlineData("{% set l = [1] %}{{ l.append(2) }}", "list", "append")]
    [InlineData("{% set l = [1] %}{{ l.pop() }}", "list", "pop")]
    [InlineData("{% set d = {} %}{{ d.update({'a': 1}) }}", "dict", "update")]
    [InlineData("{% set d = {} %}{{ d.setdefault('a', 1) }}", "dict", "setdefault")]
    [InlineData("{{ ''.__class__.__mro__ }}", "str", "__class__")]
    [InlineData("{{ messages.__len__() }}", "list", "__len__")]
    public void SandboxRefusesMutationAndInternals(string template, string type, string attribute)
    {
        var e = Assert.Throws<JinjaException>(() => Render(template));
        Assert.Equal($"SecurityError: access to attribute '{attribute}' of '{type}' object is unsafe. (template line 1)", e.Message);
    }

    [Theory]
    [InlineData("{% for i in range(10) %}{% for j in range(10) %}{% for k in range(10) %}x{% endfor %}{% endfor %}{% endfor %}", "loop iterations")]
    [InlineData("{{ range(100000000) | length }}", "a range of more than")]
    [InlineData("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "macros call each other")]
    [InlineData("{{ 'x' * 100000000 }}", "a string of more than")]
    [InlineData("{% for i in range(400) %}{{ 'abcdefghij' * 100 }}{% endfor %}", "the output is longer than")]
    [InlineData("{% set ns = namespace(s='ab') %}{% for i in range(450) %}{% set ns.s = ns.s ~ ns.s[:500] %}{% endfor %}{{ ns.s | length }}", "work limit")]
    public void BoundsStopHostileTemplates(string template, string message)
    {
        var limits = new JinjaLimits { MaxLoopIterations = 500, MaxOutputChars = 100_000, MaxWorkChars = 2_000_000, MaxCallDepth = 50 };
        var e = Assert.Throws<JinjaException>(() => Render(template, limits));
        Assert.Equal("TemplateError", e.Kind);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Strings that would pass 2^31 characters (joins, reprs, JSON dumps, replaces of large values) fail while they
    /// grow; built first and measured after, each ended in an OutOfMemoryException.
    /// </summary>
    [Theory]
    [InlineData("{{ range(100000) | join('x' * 100000) }}")]
    [InlineData("{{ [('x' * 100000)] * 100000 }}")]
    [InlineData("{{ ([('x' * 100000)] * 100000) | tojson }}")]
    [InlineData("{{ ('a' * 100000) | replace('a', 'x' * 100000) }}")]
    [InlineData("{{ ('{0}' * 30000).format('x' * 100000) }}")]
    public void HugeStringsFailBeforeTheyAreBuilt(string template)
    {
        var limits = new JinjaLimits { MaxOutputChars = 100_000 };
        var e = Assert.Throws<JinjaException>(() => Render(template, limits));
        Assert.Contains("(the output limit)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DeepNestingIsASyntaxErrorNotAStackOverflow()
    {
        var e = Assert.Throws<JinjaException>(() => JinjaTemplate.Compile("{{ " + new string('(', 5000) + "1" + new string(')', 5000) + " }}"));
        Assert.Contains("nests more than", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<JinjaException>(() => JinjaTemplate.Compile(string.Concat(Enumerable.Repeat("{% if x %}", 5000))));
        Assert.Contains("nests more than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void StrftimeNowReadsTheClock()
    {
        Assert.Equal("Sunday 26 Jul 2026, 10:00 AM", Render("{{ strftime_now('%A %-d %b %Y, %H:%M %p') }}"));
    }

    [Fact]
    public void GeneratorsIterateOnce()
    {
        Assert.Equal("[1, 2]|[]", Render("{% set g = [1, 2] | select %}{{ g | list }}|{{ g | list }}"));
    }
}
