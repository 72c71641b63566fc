using System.Text.RegularExpressions;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// Every option of every command, given a value it cannot take (the wrong type, out of range, too large for its type,
/// or no value at all): exit 2 and one <c>error:</c> line naming the option and what it accepts, never a stack trace.
/// The table is checked against each command's <c>--help</c>, so a new option without rows fails here.
/// </summary>
public partial class CommandLineValueTests
{
    /// <summary>
    /// One option: its names, a word of what the error must say it accepts, and values to refuse. A flag takes no
    /// value; a text option (a path, a prompt) takes any: it is only tested without its value.
    /// </summary>
    private sealed record Row(string[] Names, string Accepts, params string[] Bad)
    {
        public static Row Flag(params string[] names) => new(names, "") { NeedsValue = false };

        public static Row Text(params string[] names) => new(names, "");

        public bool NeedsValue { get; init; } = true;
    }

    private static readonly string[] Ints = ["abc", "1.5", "2147483648"];

    // The options every command that loads a model shares.
    private static Row[] ContextRows(string ctxFrom) =>
    [
        Row.Text("-m", "--model"),
        new(["-t", "--threads"], "512", [.. Ints, "513", "-2147483649"]),
        new(["-c", "--ctx-size"], ctxFrom, [.. Ints, "-1", "99999999999"]),
        new(["-b", "--batch-size"], "from 1", [.. Ints, "0", "-5"]),
        new(["-ub", "--ubatch-size"], "from 0", [.. Ints, "-1"]),
        new(["-ctk", "--cache-type-k"], "f16", "q9", "F16x"),
        new(["-ctv", "--cache-type-v"], "f32", "q8_0", ""),
        new(["-fa", "--flash-attn"], "auto", "maybe", "2") { NeedsValue = false }, // alone, -fa means on
        new(["-ngl", "--n-gpu-layers", "--gpu-layers"], "auto", "abc", "2147483648"),
    ];

    private static Row[] RunRows() =>
    [
        .. ContextRows("from 0"),
        Row.Text("-p", "--prompt"),
        Row.Text("-f", "--file"),
        new(["-n", "--n-predict", "--predict"], "integer", [.. Ints, "-2147483649"]),
        new(["-tb", "--threads-batch"], "512", [.. Ints, "100000"]),
        new(["-s", "--seed"], "4294967295", "abc", "-2", "4294967296", "99999999999999999999"),
        new(["--temp", "--temperature"], "finite", "abc", "nan", "inf", "1e39"),
        new(["--top-k"], "integer", Ints),
        new(["--top-p"], "finite", "abc", "nan", "-inf"),
        new(["--min-p"], "finite", "abc", "nan", "1e39"),
        new(["--repeat-penalty"], "greater than 0", "abc", "0", "-1", "nan", "1e-45"),
        new(["--repeat-last-n"], "-1", [.. Ints, "-2"]),
        Row.Text("--grammar"),
        Row.Text("--grammar-file"),
        Row.Text("-j", "--json-schema"),
        Row.Text("-jf", "--json-schema-file"),
        Row.Flag("--ignore-eos"),
        Row.Flag("-e", "--escape"),
        Row.Flag("--no-escape"),
        Row.Flag("--verbose"),
        Row.Text("-sys", "--system-prompt"),
        Row.Text("--chat-template-file"),
        Row.Text("-r", "--reverse-prompt"),
        Row.Text("--in-prefix"),
        Row.Text("--in-suffix"),
        Row.Flag("--context-shift"),
        new(["--keep"], "-1", [.. Ints, "-2"]),
    ];

    private static Row[] ConversationRows() => [Row.Flag("-cnv", "--conversation"), Row.Flag("-no-cnv", "--no-conversation")];

    private static Row[] LogitsRows() =>
    [
        .. ContextRows("from 0"),
        Row.Text("-p", "--prompt"),
        Row.Text("-f", "--file"),
        Row.Text("-o", "--output"),
        Row.Flag("-e", "--escape"),
        Row.Flag("--no-escape"),
    ];

    private static Row[] PerplexityRows() =>
    [
        .. ContextRows("from 1").Where(r => r.Names[0] != "-c"),
        new(["-c", "--ctx-size"], "from 1", [.. Ints, "0", "99999999999"]),
        Row.Text("-f", "--file"),
        Row.Flag("--verbose"),
    ];

    private static Row[] BenchRows() =>
    [
        .. ContextRows("").Where(r => r.Names[0] is not ("-t" or "-c")),
        new(["-p", "--n-prompt"], "0 or more", "abc", "-1", "16,x", "2147483648"),
        new(["-n", "--n-gen"], "0 or more", "abc", "-1", "1.5", "99999999999"),
        new(["-t", "--threads"], "512", "0", "513", "1,x", "2147483648"),
        new(["-r", "--repetitions"], "10000", [.. Ints, "0", "1000000000"]),
        new(["-o", "--output"], "json", "csv"),
    ];

    private static Row[] ConvertRows() =>
    [
        new(["--outtype"], "q8_0", "q4_0", "F17"),
        Row.Text("--vocab"),
        new(["--ctx"], "from 1", [.. Ints, "0", "-1"]),
        new(["--eps"], "between 0 and 1", "abc", "0", "1", "nan"),
    ];

    private static Row[] QuantizeRows() =>
    [
        new(["-t", "--threads"], "512", [.. Ints, "100000"]),
        new(["--output-tensor-type"], "Q8_0", "q9_9"),
        new(["--token-embedding-type"], "Q8_0", "float"),
        Row.Flag("--pure"),
        Row.Flag("--allow-requantize"),
    ];

    /// <summary>Each command with the arguments that make the rest of its command line valid, and its table.</summary>
    public static TheoryData<string> Commands() => ["run", "root", "chat", "logits", "perplexity", "bench", "convert", "quantize"];

    private static (string[] Prefix, Row[] Rows) Command(string name)
    {
        string model = Shared.Stories260K("Q4_0");
        string text = Path.Combine(Shared.Reference, "perplexity", "stories-a.txt");
        return name switch
        {
            "run" => (["run", "-m", model, "-n", "1"], [.. RunRows(), .. ConversationRows()]),
            "root" => (["-m", model, "-n", "1"], [.. RunRows(), .. ConversationRows()]),
            "chat" => (["chat", "-m", model, "-n", "1"], RunRows()),
            "logits" => (["logits", "-m", model, "-p", "hi"], LogitsRows()),
            "perplexity" => (["perplexity", "-m", model, "-f", text, "-c", "128"], PerplexityRows()),
            "bench" => (["bench", "-m", model, "-p", "0", "-n", "1", "-r", "1"], BenchRows()),
            // The sources do not exist: a value that got past the parser would fail differently (exit 1).
            "convert" => (["convert", "/nonexistent/model-dir", "/nonexistent/out.gguf"], ConvertRows()),
            "quantize" => (["quantize", "/nonexistent/in.gguf", "/nonexistent/out.gguf", "Q4_0"], QuantizeRows()),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryBadValueIsOneClearLine(string command)
    {
        var (prefix, rows) = Command(command);
        var cases = new List<(string[] Args, string Option, Row Row)>();
        foreach (var row in rows)
        {
            // The rest of the command line, without this option where the prefix gives it (a repeated option is an
            // error of its own).
            var rest = new List<string>(prefix);
            int at = rest.FindIndex(a => row.Names.Contains(a));
            if (at >= 0)
                rest.RemoveRange(at, 2);
            // Each bad value under another of the option's names, so every spelling is exercised.
            for (int i = 0; i < row.Bad.Length; i++)
            {
                string name = row.Names[i % row.Names.Length];
                cases.Add(([.. rest, name, row.Bad[i]], name, row));
            }
            if (row.NeedsValue)
                cases.Add(([.. rest, row.Names[^1]], row.Names[^1], row)); // the value is missing
        }
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
        {
            var r = LlamaAotProcess.Run(c.Args);
            string[] errors = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("llama-aot: ")).ToArray();
            bool missing = c.Args[^1] == c.Option;
            bool ok = r.ExitCode == 2 && errors.Length == 1 && errors[0].StartsWith("error: ")
                && Regex.IsMatch(errors[0], $@"(?<![\w-]){Regex.Escape(c.Option)}(?![\w-])")
                && (missing || errors[0].Contains(c.Row.Accepts))
                && !r.Stderr.Contains("   at ");
            if (!ok)
                failures.Add($"{c.Option} {(missing ? "(no value)" : c.Args[^1])}: exit {r.ExitCode}, stderr: {Shorten(r.Stderr)}");
        });
        Assert.True(failures.IsEmpty, $"{failures.Count} of {cases.Count} cases:\n" + string.Join('\n', failures.Order()));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void TheTableCoversEveryOption(string command)
    {
        var (prefix, rows) = Command(command);
        string[] helpArgs = command == "root" ? ["--help"] : [prefix[0], "--help"];
        var help = LlamaAotProcess.Run(helpArgs);
        Assert.Equal(0, help.ExitCode);
        var listed = HelpOption().Matches(help.Stdout).SelectMany(m => m.Groups[1].Value.Split(", ")).ToHashSet();
        listed.ExceptWith(["-?", "-h", "--help", "--version"]);
        var covered = rows.SelectMany(r => r.Names).ToHashSet();
        Assert.Empty(listed.Except(covered).Order());
        Assert.Empty(covered.Except(listed).Order());
    }

    private static string Shorten(string s) => s.Length > 400 ? s[..400] + "..." : s.Trim();

    // "  -t, --threads <N>  description" in System.CommandLine's help: the option's names.
    [GeneratedRegex(@"^  (-[^\s,]+(?:, -[^\s,]+)*)", RegexOptions.Multiline)]
    private static partial Regex HelpOption();
}
