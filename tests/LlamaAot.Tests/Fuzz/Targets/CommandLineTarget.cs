using System.Globalization;
using LlamaAot.Tests.Cli;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// The command line of every command: a valid invocation with values replaced by odd ones (not numbers, overflow,
/// empty, huge), options dropped, repeated or added. The options are read from each command's --help, so a new
/// option is fuzzed as soon as it exists.
/// </summary>
internal sealed class CommandLineTarget : FuzzTarget
{
    /// <summary>Valid invocations, in the case directory; MODEL etc. are replaced by the files in ../shared.</summary>
    private static readonly string[][] Seeds =
    [
        ["run", "-m", "MODEL", "-p", "Once upon a time", "-n", "8", "-c", "64", "--temp", "0.8", "-s", "1", "--top-k", "40", "--top-p", "0.95", "-t", "1"],
        ["-m", "MODEL", "-f", "prompt.txt", "-n", "8", "-c", "64", "--repeat-penalty", "1.1", "--repeat-last-n", "16", "-tb", "1", "-t", "1"],
        ["logits", "-m", "MODEL", "-p", "Once upon a time", "-o", "out.json", "-t", "1"],
        ["bench", "-m", "MODEL", "-p", "16", "-n", "4", "-r", "1", "-t", "1"],
        ["perplexity", "-m", "MODEL", "-f", "text.txt", "-c", "64", "-b", "64", "-t", "1"],
        ["quantize", "F32MODEL", "out.gguf", "Q4_0", "-t", "1"],
        ["convert", "CHECKPOINT", "out.gguf", "--vocab", "VOCAB", "--outtype", "f16"],
        ["tokenize", "-m", "MODEL", "-f", "prompt.txt", "--ids", "--no-bos"],
        ["apply-template", "-m", "MODEL", "--messages", "messages.json", "--no-generation-prompt", "--bos", "<s>", "--now", "2026-07-26T10:00:00"],
    ];

    /// <summary>Per command ("" = the root, i.e. run): its options, and whether each takes a value.</summary>
    private readonly Dictionary<string, (string Name, bool TakesValue)[]> _options = [];

    public override string Name => "command-line";

    public override void Prepare(string seedDir)
    {
        foreach (string command in new[] { "", "run", "logits", "bench", "perplexity", "quantize", "convert", "tokenize", "apply-template" })
        {
            var help = LlamaAotProcess.Run(command == "" ? ["--help"] : [command, "--help"]);
            Assert.True(help.ExitCode == 0, help.Stderr);
            _options[command] = [.. help.Stdout.Split('\n')
                .Where(l => l.StartsWith("  -", StringComparison.Ordinal))
                .SelectMany(l =>
                {
                    string names = l.Trim().Split("  ")[0];
                    bool takesValue = names.Contains('<');
                    return names.Split('<')[0].Split(',').Select(n => (n.Trim(), takesValue));
                })
                .Where(o => o.Item1.StartsWith('-') && o.Item1 is not ("-?" or "-h" or "--help" or "--version"))];
            Assert.NotEmpty(_options[command]);
        }
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        File.WriteAllText(Path.Combine(caseDir, "prompt.txt"), "Once upon a time\n");
        File.WriteAllText(Path.Combine(caseDir, "messages.json"), """[{"role": "user", "content": "Hi"}]""");
        // Enough text for perplexity's two chunks of 64 tokens, little more: a case should take well under a second.
        File.WriteAllText(Path.Combine(caseDir, "text.txt"), File.ReadAllText(Path.Combine(Shared.Reference, "perplexity", "stories-a.txt"))[..1200]);
        var seed = random is null ? Seeds[0] : Seeds[random.Next(Seeds.Length)];
        if (random is null)
            return [.. seed.Select(Resolve)];
        List<string> args;
        do
        {
            args = seed.Select(Resolve).ToList();
            Mutate(args, random);
        }
        while (args[0] == "bench" && BenchTokens(args) > MaxBenchTokens);
        return [.. args];
    }

    /// <summary>
    /// Tokens a bench case may process: its prompt and generation sizes (-p, -n) times its repetitions (-r). Above that
    /// a case is valid but long work, not a parser's fault (llama-bench itself takes over two minutes for -n 8000 on
    /// stories260K: attention grows with the context), which the judge would take for a hang: such a case is drawn again.
    /// </summary>
    private const int MaxBenchTokens = 4096;

    /// <summary>Sizes above this fail at once (a context over int.MaxValue, or a KV cache over the memory): they stay.</summary>
    private const int RunnableSize = 1_000_000;

    private static long BenchTokens(List<string> args)
    {
        // llama-bench's defaults: -p 512, -n 128, -r 5.
        long Values(string[] names, long fallback)
        {
            var values = args.Where((_, i) => i > 0 && names.Contains(args[i - 1]))
                .SelectMany(v => v.Split(','))
                .Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : -1)
                .ToList();
            if (values.Any(n => n > RunnableSize))
                return 0;
            return values.Count == 0 ? fallback : values.Sum(n => Math.Max(n, 0L));
        }
        return Values(["-r", "--repetitions"], 5) * (Values(["-p", "--n-prompt"], 512) + Values(["-n", "--n-gen"], 128));
    }

    private void Mutate(List<string> args, Random random)
    {
        string command = args[0].StartsWith('-') ? "" : args[0];
        var options = _options[command];
        int count = 1 + random.Next(3);
        for (int m = 0; m < count; m++)
        {
            int at = random.Next(args.Count);
            switch (random.Next(6))
            {
                case 0: // the value after an option, or a positional argument
                case 1:
                    if (args[at].StartsWith('-') && at + 1 < args.Count)
                        at++;
                    args[at] = Mutations.OddArgument(random);
                    break;
                case 2: // an argument dropped
                    args.RemoveAt(at);
                    break;
                case 3: // an option repeated with another value
                {
                    var (name, takesValue) = options[random.Next(options.Length)];
                    args.AddRange(takesValue ? [name, Mutations.OddArgument(random)] : [name]);
                    break;
                }
                case 4: // any option, with an odd value, at any place
                {
                    var (name, _) = options[random.Next(options.Length)];
                    args.InsertRange(at, [name, Mutations.OddArgument(random)]);
                    break;
                }
                default: // two arguments swapped
                {
                    int other = random.Next(args.Count);
                    (args[at], args[other]) = (args[other], args[at]);
                    break;
                }
            }
        }
    }

    private static string Resolve(string arg) => arg switch
    {
        "MODEL" => Shared.Stories260K("Q4_0"),
        "F32MODEL" => Shared.Stories260K("F32"),
        "CHECKPOINT" => Path.Combine(Shared.Models, "stories260K", "stories260K.bin"),
        "VOCAB" => Path.Combine(Shared.Models, "stories260K", "tok512.bin"),
        _ => arg,
    };
}
