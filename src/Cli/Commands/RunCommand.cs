using System.CommandLine;
using System.Diagnostics;
using LlamaAot.Sampling;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// Text generation, llama-cli style: <c>llama-aot -m FILE -p TEXT -n 128</c> (also <c>llama-aot run ...</c>).
/// Standard output gets the prompt, then the generated text as it is produced.
/// </summary>
internal sealed class RunCommand
{
    private readonly Option<string> _model = CommonOptions.Model();
    private readonly Option<string?> _prompt = CommonOptions.Prompt();
    private readonly Option<string?> _file = CommonOptions.PromptFile();
    private readonly Option<int> _predict = new("--n-predict", "-n")
    {
        Description = "Tokens to generate; -1 = until end of sequence or a full context.",
        HelpName = "N",
        DefaultValueFactory = _ => -1,
    };
    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<int> _threadsBatch = new("--threads-batch", "-tb")
    {
        Description = "Threads for prompt processing (default: same as --threads).",
        HelpName = "N",
        Validators = { CommonOptions.Positive },
    };
    private readonly Option<int> _ctx = CommonOptions.ContextSize(4096);
    private readonly Option<int> _batch = CommonOptions.BatchSize();
    private readonly Option<long> _seed = new("--seed", "-s")
    {
        Description = "Random seed; -1 = a random one. The same seed and flags give the same text.",
        HelpName = "SEED",
        DefaultValueFactory = _ => -1,
    };
    private readonly Option<float> _temp = new("--temp") { Description = "Temperature; 0 = greedy.", HelpName = "X", DefaultValueFactory = _ => 0.8f };
    private readonly Option<int> _topK = new("--top-k") { Description = "Top-k sampling; 0 = off.", HelpName = "N", DefaultValueFactory = _ => 40 };
    private readonly Option<float> _topP = new("--top-p") { Description = "Top-p sampling; 1 = off.", HelpName = "X", DefaultValueFactory = _ => 0.95f };
    private readonly Option<float> _minP = new("--min-p") { Description = "Min-p sampling; 0 = off.", HelpName = "X", DefaultValueFactory = _ => 0.05f };
    private readonly Option<float> _repeatPenalty = new("--repeat-penalty") { Description = "Penalty for repeated tokens; 1 = off.", HelpName = "X", DefaultValueFactory = _ => 1.0f };
    private readonly Option<int> _repeatLastN = new("--repeat-last-n") { Description = "Tokens the repeat penalty looks back over; 0 = off, -1 = the context.", HelpName = "N", DefaultValueFactory = _ => 64 };
    private readonly Option<bool> _ignoreEos = new("--ignore-eos") { Description = "Keep generating past end-of-sequence (it is never sampled)." };
    private readonly Option<string> _ctk = CommonOptions.CacheType("--cache-type-k", "-ctk", "key");
    private readonly Option<string> _ctv = CommonOptions.CacheType("--cache-type-v", "-ctv", "value");
    private readonly Option<bool> _fa = CommonOptions.FlashAttention();
    private readonly Option<bool> _verbose = CommonOptions.Verbose();

    /// <summary>Makes the root command itself generate (llama-cli's interface).</summary>
    public static void Configure(RootCommand root) => new RunCommand().AddTo(root);

    /// <summary>The explicit <c>run</c> subcommand.</summary>
    public static Command Create()
    {
        var command = new Command("run", "Generate text from a prompt (the default command).");
        new RunCommand().AddTo(command);
        return command;
    }

    private void AddTo(Command command)
    {
        foreach (var o in new Option[] { _model, _prompt, _file, _predict, _threads, _threadsBatch, _ctx, _batch, _seed, _temp, _topK, _topP, _minP, _repeatPenalty, _repeatLastN, _ignoreEos, _ctk, _ctv, _fa, _verbose })
            command.Add(o);
        command.SetAction(Run);
    }

    private int Run(ParseResult p)
    {
        string prompt = CommonOptions.ReadPrompt(p, _prompt, _file);
        int predict = p.GetValue(_predict);
        if (predict < -2)
            throw new UsageException($"-n must be -1 (unlimited) or more, not {predict}");
        long seed = p.GetValue(_seed);
        if (seed is < -1 or > uint.MaxValue)
            throw new UsageException($"--seed must be -1 (random) or 0..{uint.MaxValue}, not {seed}");
        var sampling = new SamplingOptions
        {
            Temperature = p.GetValue(_temp),
            TopK = p.GetValue(_topK),
            TopP = p.GetValue(_topP),
            MinP = p.GetValue(_minP),
            RepeatPenalty = p.GetValue(_repeatPenalty),
            RepeatLastN = p.GetValue(_repeatLastN),
            Seed = seed < 0 ? null : (uint)seed,
        };
        var generation = new GenerationOptions { MaxTokens = predict < 0 ? -1 : predict, IgnoreEos = p.GetValue(_ignoreEos), Sampling = sampling };
        int threads = p.GetValue(_threads);
        var contextOptions = new ContextOptions
        {
            ContextSize = p.GetValue(_ctx),
            Threads = threads,
            BatchThreads = p.GetValue(_threadsBatch),
            BatchSize = p.GetValue(_batch),
            KeyCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctk)!),
            ValueCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctv)!),
            FlashAttention = p.GetValue(_fa),
        };
        bool verbose = p.GetValue(_verbose);

        var clock = Stopwatch.StartNew();
        using var model = LlamaModel.Load(p.GetValue(_model)!);
        ModelReport.Loaded(model, clock.Elapsed, verbose);
        using var context = model.CreateContext(contextOptions);
        ModelReport.Context(context, contextOptions);

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // First Ctrl+C stops generation and still prints the timings; a second one ends the process.
            if (!cancel.IsCancellationRequested)
            {
                e.Cancel = true;
                cancel.Cancel();
            }
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            using var stdout = Log.OpenStandardOutput();
            stdout.Write(prompt);
            stdout.Flush();
            foreach (string piece in context.Generate(prompt, generation, cancel.Token))
            {
                stdout.Write(piece);
                stdout.Flush();
            }
            stdout.WriteLine();
            stdout.Flush();
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        Timings(context.LastStats!, clock.Elapsed);
        return context.LastStats!.StopReason == StopReason.Cancelled ? ExitCodes.Interrupted : ExitCodes.Ok;
    }

    private static void Timings(GenerationStats s, TimeSpan total)
    {
        Log.Info($"prompt eval: {s.PromptTokens,5} tokens in {Log.F(s.PromptTime.TotalMilliseconds),9} ms ({Log.F(s.PromptTokensPerSecond)} tokens/s)");
        Log.Info($"       eval: {s.Evaluations,5} tokens in {Log.F(s.EvaluationTime.TotalMilliseconds),9} ms ({Log.F(s.GenerationTokensPerSecond)} tokens/s)");
        Log.Info($"     sample: {s.GeneratedTokens,5} tokens in {Log.F(s.SamplingTime.TotalMilliseconds),9} ms");
        Log.Info($"      total: {Log.F(total.TotalMilliseconds),21} ms; stopped: {StopText(s.StopReason)}");
    }

    private static string StopText(StopReason r) => r switch
    {
        StopReason.MaxTokens => "token limit (-n)",
        StopReason.EndOfSequence => "end of sequence",
        StopReason.ContextFull => "context full (-c)",
        StopReason.Cancelled => "interrupted",
        _ => r.ToString(),
    };
}
