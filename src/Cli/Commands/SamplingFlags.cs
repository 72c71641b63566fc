using System.CommandLine;
using System.CommandLine.Parsing;
using LlamaAot.Sampling;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// llama.cpp's sampling flags (-s, --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n, and the
/// output constraints --grammar, --grammar-file, -j/--json-schema, -jf/--json-schema-file) with its defaults, the values its parser takes and their meanings
/// there, turned into <see cref="SamplingOptions"/>.
/// </summary>
internal sealed class SamplingFlags
{
    private readonly Option<long> _seed = Flag<long>(["--seed", "-s"], "SEED", -1,
        "Random seed; -1 = a random one (printed: 'sampler seed: N'). The same seed and flags give the same text.",
        OptionValues.Long(-1, uint.MaxValue, $"an integer from 0 to {uint.MaxValue}, or -1 for a random seed"));
    private readonly Option<float> _temp = Flag(["--temp", "--temperature"], "X", 0.8f, "Temperature; 0 or less = greedy.",
        OptionValues.Float("a finite number (0 or less: greedy)"));
    private readonly Option<int> _topK = Flag(["--top-k"], "N", 40, "Top-k sampling; 0 or less = off.",
        OptionValues.Int(int.MinValue, int.MaxValue, "an integer (0 or less: off)"));
    private readonly Option<float> _topP = Flag(["--top-p"], "X", 0.95f, "Top-p sampling; 1 or more = off, 0 or less = only the most likely token.",
        OptionValues.Float("a finite number (1 or more: off)"));
    private readonly Option<float> _minP = Flag(["--min-p"], "X", 0.05f, "Min-p sampling; 0 or less = off.",
        OptionValues.Float("a finite number (0 or less: off)"));
    // llama.cpp wants it finite, greater than 0, and its inverse finite too.
    private readonly Option<float> _repeatPenalty = Flag(["--repeat-penalty"], "X", 1.0f, "Penalty for repeated tokens; 1 = off.",
        OptionValues.Float(x => x > 0 && float.IsFinite(1 / x), "a finite number greater than 0 (1: off)"));
    private readonly Option<int> _repeatLastN = Flag(["--repeat-last-n"], "N", 64, "Tokens the repeat penalty looks back over; 0 = off, -1 = the context.",
        OptionValues.Int(-1, int.MaxValue, "an integer from -1 (the whole context) to 2147483647 (0: off)"));

    private readonly Option<string?> _grammar = new("--grammar")
    {
        Description = "Constrain the output to a GBNF grammar (llama.cpp's syntax; generation starts at its 'root' rule).",
        HelpName = "TEXT",
    };
    private readonly Option<string?> _grammarFile = new("--grammar-file")
    {
        Description = "Constrain the output to the GBNF grammar in FILE.",
        HelpName = "FILE",
    };

    private readonly Option<string?> _jsonSchema = new("--json-schema", "-j")
    {
        Description = "Constrain the output to JSON valid under a JSON schema, e.g. '{\"type\": \"object\"}' ({} = any JSON value).",
        HelpName = "SCHEMA",
    };
    private readonly Option<string?> _jsonSchemaFile = new("--json-schema-file", "-jf")
    {
        Description = "Constrain the output to JSON valid under the JSON schema in FILE.",
        HelpName = "FILE",
    };

    public IEnumerable<Option> Options => [_seed, _temp, _topK, _topP, _minP, _repeatPenalty, _repeatLastN, _grammar, _grammarFile, _jsonSchema, _jsonSchemaFile];

    /// <summary>The sampling options, with the seed in use: a random one for -1 (say it, so the run can be repeated).</summary>
    public SamplingOptions Read(ParseResult p) => new()
    {
        Seed = Seed(p.GetValue(_seed)),
        Temperature = p.GetValue(_temp),
        // llama.cpp's meanings of values the library takes in one form only.
        TopK = Math.Max(0, p.GetValue(_topK)),
        TopP = TopP(p.GetValue(_topP)),
        MinP = Math.Clamp(p.GetValue(_minP), 0f, 1f),
        RepeatPenalty = p.GetValue(_repeatPenalty),
        RepeatLastN = p.GetValue(_repeatLastN),
        Grammar = ReadGrammar(p),
    };

    /// <summary>
    /// The grammar of --grammar or --grammar-file (one of them at most), parsed now so that a mistake is reported
    /// before the model loads: a grammar given on the command line is a bad argument (exit 2), one read from a file a
    /// bad input (exit 1); the message names the flag or file, then the line and column.
    /// </summary>
    private Grammar? ReadGrammar(ParseResult p)
    {
        var given = new (Option<string?> Option, bool IsFile, Func<string, Grammar> Parse)[]
            {
                (_grammar, false, Gbnf), (_grammarFile, true, Gbnf), (_jsonSchema, false, Schema), (_jsonSchemaFile, true, Schema),
            }.Where(g => p.GetValue(g.Option) is not null).ToList();
        if (given.Count == 0)
            return null;
        if (given.Count > 1)
            throw new UsageException($"give one output constraint, not {string.Join(" and ", given.Select(g => g.Option.Name))}");
        var (option, isFile, parse) = given[0];
        string value = p.GetValue(option)!;
        if (isFile)
            InputFiles.Check(value, option.Name[2..].Replace('-', ' '));
        Grammar grammar;
        try
        {
            grammar = parse(isFile ? File.ReadAllText(value) : value);
        }
        catch (GrammarException e) when (isFile)
        {
            throw new InputException($"{value}: {e.Message}");
        }
        catch (GrammarException e)
        {
            throw new UsageException($"{option.Name}: {e.Message}");
        }
        foreach (string warning in grammar.Warnings)
            Log.Info($"warning: {warning}");
        return grammar;
    }

    private static Grammar Gbnf(string text) => Grammar.Parse(text);

    private static Grammar Schema(string text) => Grammar.FromJsonSchema(text);

    /// <summary>The seed in use: -1, and llama.cpp's LLAMA_DEFAULT_SEED (2^32 - 1), pick one at random.</summary>
    private static uint Seed(long seed) =>
        seed is >= 0 and < uint.MaxValue ? (uint)seed : (uint)Random.Shared.NextInt64(0, uint.MaxValue);

    // llama.cpp's top-p of 0 or less keeps only the most likely token (its loop always keeps the first candidate);
    // the smallest positive p does the same in the library, which takes (0, 1].
    private static float TopP(float p) => p >= 1f ? 1f : p <= 0f ? float.Epsilon : p;

    private static Option<T> Flag<T>(string[] names, string helpName, T fallback, string description, Func<ArgumentResult, T> parse) =>
        new(names[0], names[1..])
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => fallback,
            CustomParser = parse,
        };
}
