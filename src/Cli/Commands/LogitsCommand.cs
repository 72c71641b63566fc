using System.CommandLine;
using System.Text.Json;
using LlamaAot.Files;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot logits -m FILE -p TEXT [-o FILE]</c>: evaluates the prompt (BOS added, special tokens not parsed,
/// the whole prompt as one batch) and writes JSON with the token ids and the full logit vector at every position,
/// in the shape of llama.cpp's reference dumps, to compare llama-aot with llama.cpp on any model.
/// </summary>
internal sealed class LogitsCommand
{
    private readonly Option<string> _model = CommonOptions.Model();
    private readonly Option<string?> _prompt = CommonOptions.Prompt();
    private readonly Option<string?> _file = CommonOptions.PromptFile();
    private readonly Option<string?> _output = new("--output", "-o") { Description = "Write the JSON here instead of standard output (replaced whole, never left half-written).", HelpName = "FILE" };
    private readonly PromptEscapes _escapes = new();
    private readonly Option<int> _threads = CommonOptions.Threads();
    private readonly Option<int> _ctx = CommonOptions.ContextSize();
    private readonly BatchFlags _batch = new();
    private readonly Option<string> _ctk = CommonOptions.CacheType("--cache-type-k", "-ctk", "key");
    private readonly Option<string> _ctv = CommonOptions.CacheType("--cache-type-v", "-ctv", "value");
    private readonly Option<OnOff> _fa = CommonOptions.FlashAttention();
    private readonly Option<string?> _gpuLayers = CommonOptions.GpuLayers();

    public static Command Create()
    {
        var self = new LogitsCommand();
        var command = new Command("logits", "Write the prompt's token ids and the logits at every position as JSON.");
        foreach (var o in (Option[])[self._model, self._prompt, self._file, self._output, self._threads, self._ctx, .. self._batch.Options, self._ctk, self._ctv, self._fa, self._gpuLayers, .. self._escapes.Options])
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        string prompt = _escapes.Apply(p, CommonOptions.ReadPrompt(p, _prompt, _file));
        string modelPath = p.GetValue(_model)!, promptFile = p.GetValue(_file) ?? modelPath;
        // Checked and opened before any work; written whole at the end, or not at all.
        using var file = p.GetValue(_output) is { } path ? AtomicOutputFile.Create(path, modelPath, promptFile) : null;
        if (file is not null)
            Interrupts.DeleteUnfinishedOutputs();
        CommonOptions.NoteGpuLayers(p, _gpuLayers);
        using var model = ModelReport.Load(modelPath);
        var tokens = model.Tokenize(prompt, addSpecial: true, parseSpecial: false);
        if (tokens.Length == 0)
            throw new UsageException("the prompt has no tokens (and the model adds no BOS): nothing to evaluate");
        var options = new ContextOptions
        {
            ContextSize = p.GetValue(_ctx),
            Threads = p.GetValue(_threads),
            BatchSize = _batch.Read(p),
            KeyCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctk)!),
            ValueCacheType = CommonOptions.ParseCacheType(p.GetValue(_ctv)!),
            FlashAttention = p.GetValue(_fa) == OnOff.On,
        };
        using var context = model.CreateContext(options);
        ModelReport.ContextWarnings(context, options);
        if (tokens.Length > context.ContextSize)
            throw new PromptTooLongException(tokens.Length, context.ContextSize);
        float[] logits = context.EvaluateAll(tokens).ToArray();

        Stream stream = file ?? StandardStreams.OpenOutput();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            int nVocab = model.Config.NVocab;
            json.WriteStartObject();
            json.WriteString("model", Path.GetFileName(model.Path));
            json.WriteString("prompt", prompt);
            json.WriteNumber("n_vocab", nVocab);
            json.WriteString("kv_cache_type", $"{options.KeyCacheType}/{options.ValueCacheType}".ToLowerInvariant());
            json.WriteStartArray("tokens");
            foreach (int t in tokens)
                json.WriteNumberValue(t);
            json.WriteEndArray();
            json.WriteStartArray("logits");
            for (int i = 0; i < tokens.Length; i++)
            {
                json.WriteStartArray();
                foreach (float v in logits.AsSpan(i * nVocab, nVocab))
                    json.WriteNumberValue(v);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        if (file is null)
        {
            stream.Dispose();
            Console.Out.WriteLine();
        }
        else
        {
            file.Commit();
        }
        return ExitCodes.Ok;
    }
}
