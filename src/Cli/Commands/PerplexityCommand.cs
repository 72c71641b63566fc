using System.CommandLine;
using System.Diagnostics;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot perplexity -m FILE -f TEXT [-c N] [-b N] [-t N]</c>: llama.cpp's llama-perplexity (see
/// <see cref="Perplexity"/>). Standard output gets what llama-perplexity prints as its result: the running estimate
/// after each chunk, <c>[1]4.0660,[2]4.0426,...</c>, then <c>Final estimate: PPL = 5.1116 +/- 0.23166</c>;
/// standard error the model, the chunking and the timings.
/// </summary>
internal sealed class PerplexityCommand
{
    private readonly Option<string> _model = CommonOptions.Model();
    private readonly Option<string?> _file = new("--file", "-f")
    {
        Description = "The text to score (one trailing newline is dropped, as in llama.cpp).",
        HelpName = "FILE",
        Required = true,
    };
    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<int> _ctx = new("--ctx-size", "-c")
    {
        Description = "Tokens per chunk (the context size; default 512, llama-perplexity's); the text needs at least two chunks.",
        HelpName = "N",
        DefaultValueFactory = _ => 512,
        CustomParser = OptionValues.Int(1, int.MaxValue, "an integer from 1 to 2147483647"),
    };
    private readonly BatchFlags _batch = new();
    private readonly Option<string> _ctk = CommonOptions.CacheType("--cache-type-k", "-ctk", "key");
    private readonly Option<string> _ctv = CommonOptions.CacheType("--cache-type-v", "-ctv", "value");
    private readonly Option<OnOff> _fa = CommonOptions.FlashAttention();
    private readonly Option<string?> _gpuLayers = CommonOptions.GpuLayers();
    private readonly Option<bool> _verbose = CommonOptions.Verbose();

    public static Command Create()
    {
        var self = new PerplexityCommand();
        var command = new Command("perplexity", "Perplexity of the model on a text file, computed and printed as llama.cpp's llama-perplexity does.");
        foreach (var o in (Option[])[self._model, self._file, self._threads, self._ctx, .. self._batch.Options, self._ctk, self._ctv, self._fa, self._gpuLayers, self._verbose])
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        string text = CommonOptions.ReadTextFile(p.GetValue(_file)!, "text");
        var options = new ContextOptions
        {
            ContextSize = p.GetValue(_ctx),
            Threads = p.GetValue(_threads),
            BatchSize = _batch.Read(p),
            KeyCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctk)!),
            ValueCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctv)!),
            FlashAttention = p.GetValue(_fa) == OnOff.On,
        };

        CommonOptions.NoteGpuLayers(p, _gpuLayers);
        var clock = Stopwatch.StartNew();
        using var model = ModelReport.Load(p.GetValue(_model)!);
        ModelReport.Loaded(model, clock.Elapsed, p.GetValue(_verbose));
        using var context = model.CreateContext(options);
        ModelReport.Context(context, options);

        int[] tokens = model.Tokenize(text, addSpecial: true, parseSpecial: false);
        int nCtx = context.ContextSize;
        int nChunk = tokens.Length / nCtx;
        Log.Info($"the text is {tokens.Length} tokens");

        var evalClock = Stopwatch.StartNew();
        using var stdout = Log.OpenStandardOutput();
        void OnChunk(PerplexityChunk c)
        {
            if (c.Index == 0)
            {
                Log.Info($"calculating perplexity over {nChunk} chunks, n_ctx={nCtx}, batch_size={Math.Min(options.BatchSize, nCtx)}");
                Log.Info($"{Log.F(evalClock.Elapsed.TotalSeconds)} seconds per pass - ETA {Log.F(evalClock.Elapsed.TotalMinutes * nChunk)} minutes");
            }
            stdout.Write(CommonOptions.Invariant($"[{c.Index + 1}]{c.RunningPpl:F4},"));
            stdout.Flush();
        }
        var result = Perplexity.Compute(context, tokens, OnChunk);
        stdout.WriteLine();
        double seconds = evalClock.Elapsed.TotalSeconds;
        if (double.IsNaN(result.PplError))
        {
            // llama-perplexity's words for nll without a positive variance (a degenerate model or text).
            stdout.Flush();
            Console.Error.WriteLine("error: unexpected negative standard deviation of log(prob): no final estimate");
            return ExitCodes.Failed;
        }
        stdout.WriteLine(CommonOptions.Invariant($"Final estimate: PPL = {result.Ppl:F4} +/- {result.PplError:F5}"));
        stdout.Flush();

        int evaluated = result.Chunks.Count * nCtx;
        Log.Info($"{result.Chunks.Count} chunks, {evaluated} tokens evaluated, {result.ScoredTokens} scored in {Log.F(seconds * 1000)} ms ({Log.F(evaluated / seconds)} tokens/s)");
        return ExitCodes.Ok;
    }
}
