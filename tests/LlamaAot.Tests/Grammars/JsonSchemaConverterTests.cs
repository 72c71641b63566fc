using LlamaAot.Sampling;

namespace LlamaAot.Tests.Grammars;

/// <summary>The JSON schema converter: what it refuses, and findings where it departs from llama.cpp.</summary>
public sealed class JsonSchemaConverterTests
{
    /// <summary>
    /// Found by the generation test ("-0000000000000000" for a maximum of -3): llama.cpp's rule for a negative
    /// maximum allows leading zeros after the '-', which is not JSON.
    /// </summary>
    [Theory]
    [InlineData("""{"type": "integer", "maximum": -3}""", new[] { "-3", "-4", "-10", "-123456" }, new[] { "-03", "-0000000000000000", "-2", "0", "-0" })]
    [InlineData("""{"type": "integer", "exclusiveMaximum": -99}""", new[] { "-100", "-1000" }, new[] { "-0100", "-99", "-00100" })]
    public void NegativeMaximumHasNoLeadingZeros(string schema, string[] valid, string[] invalid)
    {
        var grammar = Grammar.FromJsonSchema(schema);
        Assert.All(valid, s => Assert.True(GrammarCases.Matches(grammar, s), s));
        Assert.All(invalid, s => Assert.False(GrammarCases.Matches(grammar, s), s));
    }

    [Theory]
    [InlineData("""{"not": {"type": "string"}}""", "JSON schema error at '#': the keyword 'not' is not supported")]
    [InlineData("""{"type": "object", "properties": {"a": {"if": {}, "then": {}}}}""", "at '#/properties/a': the keyword 'if' is not supported")]
    [InlineData("""{"type": "number", "multipleOf": 3}""", "the keyword 'multipleOf' is not supported")]
    [InlineData("""{"type": "strin"}""", "unrecognized type 'strin'")]
    [InlineData("""{"$ref": "https://example.com/x.json"}""", "only references into the same document")]
    [InlineData("""{"$ref": "#/$defs/missing"}""", "cannot resolve $ref '#/$defs/missing'")]
    [InlineData("""{"type": "string", "pattern": "abc"}""", "must be anchored with '^' and '$'")]
    [InlineData("""{"type": "string", "pattern": "^(?=a)b$"}""", "lookaround")]
    [InlineData("""{"type": "string", "pattern": "^a)$"}""", "unbalanced parentheses")]
    [InlineData("""{"type": "integer", "minimum": 5, "maximum": 2}""", "no integer lies between")]
    [InlineData("""{"type": "array", "minItems": -1}""", "minItems must be a non-negative integer")]
    [InlineData("""{"enum": []}""", "enum must be a non-empty array")]
    [InlineData("""{"type": """, "not valid JSON")]
    [InlineData("""[1, 2]""", "a schema must be an object")]
    public void UnsupportedOrInvalidSchemaIsAnErrorNamingIt(string schema, string message)
    {
        var e = Assert.Throws<GrammarException>(() => Grammar.FromJsonSchema(schema));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void AnnotationsAreIgnored()
    {
        var grammar = Grammar.FromJsonSchema("""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T", "description": "D", "examples": [1],
             "default": 2, "type": "integer"}
            """);
        Assert.True(GrammarCases.Matches(grammar, "12"));
        Assert.Empty(grammar.Warnings);
    }

    [Fact]
    public void UniqueItemsIsAWarningAsLlamaCppIgnoresIt()
    {
        var grammar = Grammar.FromJsonSchema("""{"type": "array", "items": {"type": "integer"}, "uniqueItems": true}""");
        Assert.Equal(["uniqueItems at '#' is not enforced (a grammar cannot express it)"], grammar.Warnings);
    }

    [Fact]
    public void RecursiveRefsConvert()
    {
        var grammar = Grammar.FromJsonSchema("""
            {"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
             "required": ["v", "next"], "additionalProperties": false}}, "$ref": "#/$defs/node"}
            """);
        Assert.True(GrammarCases.Matches(grammar, """{"v": 1, "next": {"v": 2, "next": null}}"""));
        Assert.False(GrammarCases.Matches(grammar, """{"v": 1, "next": {"v": 2}}"""));
    }

    [Fact]
    public void PropertyNamesWithClassCharactersStayOutOfAdditionalKeys()
    {
        var grammar = Grammar.FromJsonSchema("""{"type": "object", "properties": {"a]b": {"type": "integer"}, "^-\\": {"type": "integer"}}, "additionalProperties": {"type": "integer"}}""");
        Assert.True(GrammarCases.Matches(grammar, """{"a]b": 1, "x": 2}"""));
        Assert.False(GrammarCases.Matches(grammar, """{"x": 2, "a]b": 1}"""));
    }
}
