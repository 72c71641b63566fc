using System.CommandLine;
using System.Diagnostics;

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
    private readonly PromptEscapes _escapes = new();
    private readonly Option<int> _predict = new("--n-predict", "-n", "--predict")
    {
        Description = "Tokens to generate; -1 (or any negative number) = until end of sequence or a full context.",
        HelpName = "N",
        DefaultValueFactory = _ => -1,
        CustomParser = OptionValues.Int(int.MinValue, int.MaxValue, "an integer (-1: until end of sequence or a full context)"),
    };
    private readonly Option<int> _ctx = CommonOptions.ContextSize();
    private readonly EngineFlags _engine = new();
    private readonly SamplingFlags _sampling = new();
    private readonly Option<bool> _ignoreEos = new("--ignore-eos") { Description = "Keep generating past end-of-sequence (it is never sampled)." };
    private readonly Option<string?> _gpuLayers = CommonOptions.GpuLayers();
    private readonly Option<bool> _verbose = CommonOptions.Verbose();
    private readonly ChatFlags _chat = new();
    private readonly bool _alwaysChat;

    private RunCommand(bool alwaysChat = false) => _alwaysChat = alwaysChat;

    /// <summary>Makes the root command itself generate (llama-cli's interface).</summary>
    public static void Configure(RootCommand root) => new RunCommand().AddTo(root);

    /// <summary>The <c>chat</c> subcommand: <c>run</c> in conversation mode.</summary>
    public static Command CreateChat()
    {
        var command = new Command("chat", "Chat with the model turn by turn, through its chat template (run -cnv).");
        new RunCommand(alwaysChat: true).AddTo(command);
        return command;
    }

    /// <summary>The explicit <c>run</c> subcommand.</summary>
    public static Command Create()
    {
        var command = new Command("run", "Generate text from a prompt (the default command).");
        new RunCommand().AddTo(command);
        return command;
    }

    private void AddTo(Command command)
    {
        foreach (var o in (Option[])[_model, _prompt, _file, _predict, _engine.Threads, _engine.ThreadsBatch, _ctx, .. _engine.Batch.Options, .. _sampling.Options, _ignoreEos, _engine.KeyCacheType, _engine.ValueCacheType, _engine.FlashAttention, _gpuLayers, _verbose, .. _escapes.Options, .. _chat.Options])
            command.Add(o);
        if (!_alwaysChat)
        {
            command.Add(_chat.Conversation);
            command.Add(_chat.NoConversation);
        }
        command.SetAction(Run);
    }

    private int Run(ParseResult p)
    {
        string prompt = _escapes.Apply(p, CommonOptions.ReadPrompt(p, _prompt, _file));
        int predict = p.GetValue(_predict);
        var sampling = _sampling.Read(p);
        var generation = _chat.Apply(p, new GenerationOptions { MaxTokens = predict < 0 ? -1 : predict, IgnoreEos = p.GetValue(_ignoreEos), Sampling = sampling });
        bool conversation = _alwaysChat || _chat.ConversationAsked(p);
        var chat = conversation ? _chat.Read(p) : null;
        // As llama.cpp, the prefix and suffix take the same escapes as the prompt.
        chat = chat is null ? null : chat with { InPrefix = _escapes.Apply(p, chat.InPrefix), InSuffix = _escapes.Apply(p, chat.InSuffix) };
        var contextOptions = _engine.Read(p, p.GetValue(_ctx));
        bool verbose = p.GetValue(_verbose);

        CommonOptions.NoteGpuLayers(p, _gpuLayers);
        var clock = Stopwatch.StartNew();
        using var model = ModelReport.Load(p.GetValue(_model)!);
        ModelReport.Loaded(model, clock.Elapsed, verbose);
        using var context = model.CreateContext(contextOptions);
        using var session = context.CreateSession();
        ModelReport.Context(context, contextOptions);
        Log.Info($"sampler seed: {sampling.Seed}");
        if (chat is not null)
        {
            using var output = Log.OpenStandardOutput();
            string? first = p.GetResult(_prompt) is null && p.GetResult(_file) is null ? null : prompt;
            return new ChatLoop(model, session, chat, generation, output).Run(first);
        }

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
            foreach (string piece in session.Generate(prompt, generation, cancel.Token))
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
        if (session.LastStats!.StopReason == StopReason.ContextFull)
            Log.Info($"the context is full ({context.ContextSize} tokens): stopping, as llama.cpp does without context shift (-c sets the context)");
        Timings(session.LastStats!, clock.Elapsed);
        return session.LastStats!.StopReason == StopReason.Cancelled ? ExitCodes.Interrupted : ExitCodes.Ok;
    }

    private static void Timings(GenerationStats s, TimeSpan total)
    {
        Log.Info($"prompt eval: {s.PromptTokens,5} tokens in {Log.F(s.PromptTime.TotalMilliseconds),9} ms ({Log.F(s.PromptTokensPerSecond)} tokens/s)");
        Log.Info($"       eval: {s.Evaluations,5} tokens in {Log.F(s.EvaluationTime.TotalMilliseconds),9} ms ({Log.F(s.GenerationTokensPerSecond)} tokens/s)");
        Log.Info($"     sample: {s.GeneratedTokens,5} tokens in {Log.F(s.SamplingTime.TotalMilliseconds),9} ms");
        if (s.Grammar is { } g)
            Log.Info($"    grammar: {GrammarLine(g)}");
        Log.Info($"      total: {Log.F(total.TotalMilliseconds),21} ms; stopped: {StopText(s.StopReason)}");
        if (s.ContextShifts > 0)
            Log.Info($"the context was shifted {s.ContextShifts} times (--context-shift)");
    }

    /// <summary>
    /// The grammar's perf line (issue 15 asks for the share of tokens that needed the full-vocabulary pass): tokens
    /// sampled under it, full passes and their share, and the grammar's own time per token.
    /// </summary>
    internal static string GrammarLine(GrammarStats g) =>
        $"{g.Tokens,5} tokens, {g.FullPasses} full-vocabulary passes ({Log.F(100 * g.FullPassShare, 1)}%), {Log.F(g.MillisecondsPerToken, 3)} ms per token";

    private static string StopText(StopReason r) => r switch
    {
        StopReason.MaxTokens => "token limit (-n)",
        StopReason.EndOfSequence => "end of sequence",
        StopReason.ContextFull => "context full (-c)",
        StopReason.Cancelled => "interrupted",
        StopReason.StopString => "reverse prompt (-r)",
        _ => r.ToString(),
    };
}
