using System.Text.Json;
using LlamaAot.Sampling;
using LlamaAot.Tests.Cli;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Grammars;

/// <summary>
/// Output under a JSON schema (<c>-p "" --temp 1 -s N -c 512 -n 400</c> on stories260K) always parses and validates
/// against the schema, for schemas of different shapes. Each schema bounds its strings and arrays, so every sentence
/// is short and a run that ends by length is a failure.
/// </summary>
public sealed class JsonSchemaGenerationTests(ITestOutputHelper output, GrammarGenerationTests.Stories stories) : IClassFixture<GrammarGenerationTests.Stories>
{
    private const int Seeds = 10;

    public static TheoryData<string, string> Schemas() => new()
    {
        { "nested objects", """
            {"type": "object", "properties": {
              "name": {"type": "string", "minLength": 1, "maxLength": 12},
              "address": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 10}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                          "required": ["city", "zip"], "additionalProperties": false}},
             "required": ["name", "address"], "additionalProperties": false}
            """ },
        { "array with bounds", """{"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 300}, "minItems": 2, "maxItems": 4}""" },
        { "enum and const", """
            {"type": "object", "properties": {"kind": {"const": "pet"}, "colour": {"enum": ["red", "amber", "green", null, 42]}, "ok": {"type": "boolean"}},
             "required": ["kind", "colour", "ok"], "additionalProperties": false}
            """ },
        { "anyOf", """{"anyOf": [{"type": "integer", "exclusiveMinimum": 10, "exclusiveMaximum": 20}, {"type": "string", "maxLength": 5}, {"type": "null"}]}""" },
        { "integer ranges", """{"type": "array", "prefixItems": [{"type": "integer", "minimum": 0}, {"type": "integer", "maximum": -3}, {"type": "integer", "minimum": 1234, "maximum": 98765}]}""" },
        { "string lengths and refs", """
            {"$defs": {"word": {"type": "string", "minLength": 3, "maxLength": 6}},
             "type": "object", "properties": {"a": {"$ref": "#/$defs/word"}, "b": {"type": "array", "items": {"$ref": "#/$defs/word"}, "maxItems": 2}, "c": {"type": "string", "format": "date"}},
             "required": ["a", "b"], "additionalProperties": false}
            """ },
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public void RandomSeedOutputParsesAndValidates(string shape, string schemaText)
    {
        var grammar = Grammar.FromJsonSchema(schemaText);
        using var schema = JsonDocument.Parse(schemaText);
        using var context = stories.Model.CreateContext(new ContextOptions { ContextSize = 512, Threads = 1 });
        using var session = context.CreateSession();
        var failures = new List<string>();
        for (uint seed = 1; seed <= Seeds; seed++)
        {
            var options = new GenerationOptions { MaxTokens = 400, Sampling = new SamplingOptions { Seed = seed, Temperature = 1f, Grammar = grammar } };
            string text = string.Concat(session.Generate("", options));
            if (session.LastStats!.StopReason != StopReason.EndOfSequence)
                failures.Add($"seed {seed}: FAILURE: ended by {session.LastStats.StopReason}: {text}");
            else if (Problem(schema.RootElement, text) is { } problem)
                failures.Add($"seed {seed}: {problem}: {text}");
            if (seed == 1)
                output.WriteLine($"{shape}, seed 1: {text}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Through the binary, as the issue states it: standard output is the JSON (and the line end run adds).</summary>
    [Fact]
    public void CommandLineOutputIsTheJson()
    {
        string schemaText = Schemas().First()[1].ToString()!;
        using var schema = JsonDocument.Parse(schemaText);
        foreach (string seed in new[] { "1", "2" })
        {
            var r = LlamaAotProcess.Run("-m", Shared.Stories260K("F32"), "-p", "", "--temp", "1", "-s", seed, "-c", "512", "-n", "400", "-j", schemaText);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("stopped: end of sequence", r.Stderr);
            Assert.Null(Problem(schema.RootElement, r.Stdout));
        }
    }

    private static string? Problem(JsonElement schema, string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return JsonSchemaValidator.Validate(schema, doc.RootElement);
        }
        catch (JsonException e)
        {
            return $"not JSON ({e.Message})";
        }
    }
}
