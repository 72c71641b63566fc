using LlamaAot.Tests.Grammars;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// The GBNF parser and the recognizer through <c>llama-aot -m stories260K --grammar-file g.gbnf -n 16</c>: llama.cpp's
/// example grammars and those of its integration cases, mutated by bytes or by spliced-in GBNF fragments (unbalanced
/// groups and classes, huge and nested repetitions, left recursion, bad escapes, undefined rules, token forms). A case
/// must generate, or fail with one error line, within the time and memory bounds.
/// </summary>
internal sealed class GbnfTarget : FuzzTarget
{
    private static readonly string[] Fragments =
    [
        "(", ")", "[", "]", "\"", "|", "*", "+", "?", "{", "}", "{2000}", "{0,2000}", "{1999,}", "{3,2}", "((((((((((", "))))))))))",
        "[^", "\\x", "\\u12", "\\U0010FFFF", "\\q", ".", "::=", "root ::= root \"a\"\n", "x ::= x\n", "a ::= b\nb ::= a\n",
        "undefined-rule", "<[0]>", "!<[1]>", "<[99999999999]>", "<|im_start|>", "<s>", "!", "#", "\n", "\r\n", "\t", "\0",
        "(\"a\"{0,50}){0,50}", "([a-z]{1000}){2}", "e ::= x e \"a\" | \"b\"\nx ::= y\ny ::= \n", "\u00e9\U0001F642",
    ];

    public override string Name => "gbnf";

    public override void Prepare(string seedDir)
    {
        foreach (string file in Directory.GetFiles(Path.Combine(GrammarCases.Directory, "gbnf"), "*.gbnf"))
            File.Copy(file, Path.Combine(seedDir, Path.GetFileName(file)));
        int i = 0;
        foreach (var c in GrammarCases.All.Where(c => c.Kind == "grammar" && !c.TokenStrings))
            File.WriteAllText(Path.Combine(seedDir, $"case{i++}.gbnf"), c.Source);
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        var seeds = Directory.GetFiles(seedDir, "*.gbnf").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        string name = random is null ? "json.gbnf" : seeds[random.Next(seeds.Length)];
        CopyMutated(seedDir, caseDir, name, random, (bytes, r) => Mutations.Splice(bytes, r, Fragments, 100));
        return ["-m", Shared.Stories260K("Q4_0"), "-p", "", "-n", "16", "-c", "128", "-s", "1", "-t", "1", "--grammar-file", name];
    }
}

/// <summary>
/// The JSON schema converter through <c>llama-aot ... -jf schema.json</c>: the schemas of llama.cpp's integration
/// cases and a few of the generation tests, mutated as JSON (values, structure), by bytes, or with schema fragments
/// spliced in (unsupported keywords, self-references, huge bounds, patterns).
/// </summary>
internal sealed class JsonSchemaTarget : FuzzTarget
{
    private static readonly string[] Fragments =
    [
        "\"not\": {},", "\"$ref\": \"#\",", "\"$ref\": \"#/$defs/x\",", "\"$defs\": {\"x\": {\"$ref\": \"#/$defs/x\"}},",
        "\"minimum\": -9223372036854775808,", "\"maximum\": 9223372036854775807,", "\"minimum\": 1e308,", "\"maxItems\": 2147483647,",
        "\"minItems\": 1000000,", "\"minLength\": 99999999,", "\"pattern\": \"^(a|b)*c{2,5}[x-z]$\",", "\"pattern\": \"^((((((((((a))))))))))$\",",
        "\"pattern\": \"^\\\\d+$\",", "\"format\": \"date-time\",", "\"anyOf\": [],", "\"allOf\": [{\"type\": \"object\"}],", "\"enum\": [null, 1, \"a\"],",
        "\"type\": [\"string\", \"null\"],", "\"type\": 5,", "\"items\": [{}, {}],", "\"additionalProperties\": {\"type\": \"integer\"},", "{", "}", "[", "]",
    ];

    public override string Name => "json-schema";

    public override void Prepare(string seedDir)
    {
        int i = 0;
        foreach (var c in GrammarCases.All.Where(c => c.Kind == "schema"))
            File.WriteAllText(Path.Combine(seedDir, $"schema{i++:D2}.json"), c.Source);
        foreach (var row in JsonSchemaGenerationTests.Schemas())
            File.WriteAllText(Path.Combine(seedDir, $"schema{i++:D2}.json"), (string)row[1]);
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        var seeds = Directory.GetFiles(seedDir, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();
        string name = seeds[random?.Next(seeds.Length) ?? 0];
        CopyMutated(seedDir, caseDir, name, random, (bytes, r) => r.Next(2) == 0 ? Mutations.Json(bytes, r) : Mutations.Splice(bytes, r, Fragments, 100));
        return ["-m", Shared.Stories260K("Q4_0"), "-p", "", "-n", "16", "-c", "128", "-s", "1", "-t", "1", "-jf", name];
    }
}
