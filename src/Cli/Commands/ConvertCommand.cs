using System.CommandLine;
using System.Diagnostics;
using LlamaAot.Conversion;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot convert SOURCE OUT.gguf [--outtype T] [--vocab FILE]</c>: turns a Hugging Face model directory, a
/// llama2.c checkpoint or a legacy GGML file (ggml/ggmf/ggjt) into a GGUF, without Python.
/// </summary>
internal sealed class ConvertCommand
{
    private readonly Argument<string> _source = new("SOURCE")
    {
        Description = "A Hugging Face model directory, a llama2.c checkpoint (.bin, with --vocab) or a legacy GGML file (ggml, ggmf, ggjt v1-v3).",
    };
    private readonly Argument<string> _output = new("OUT.gguf") { Description = "The GGUF file to write." };
    private readonly Option<string> _outType = new("--outtype")
    {
        Description = "Type of the weight matrices: f32, f16, bf16, q8_0, or auto = keep the source's (F32 for llama2.c). Norms stay F32.",
        HelpName = "TYPE",
        DefaultValueFactory = _ => "auto",
        CustomParser = OptionValues.OneOf("auto", "f32", "f16", "bf16", "q8_0"),
    };
    private readonly Option<string?> _vocab = new("--vocab")
    {
        Description = "The tokenizer of a llama2.c checkpoint: llama2.c's tokenizer.bin, or a GGUF model to copy the vocabulary from.",
        HelpName = "FILE",
    };
    private readonly Option<int> _ctx = new("--ctx")
    {
        Description = "Legacy GGML files: the training context to record.",
        HelpName = "N",
        DefaultValueFactory = _ => LegacyGgmlConverter.DefaultContextLength,
        CustomParser = OptionValues.Int(1, int.MaxValue, "an integer from 1 to 2147483647"),
    };
    private readonly Option<float> _eps = new("--eps")
    {
        Description = "Legacy GGML files: the RMSNorm epsilon to record: 1e-5 for Llama 2, 1e-6 for LLaMA 1 (the default is convert_llama_ggml_to_gguf.py's).",
        HelpName = "X",
        DefaultValueFactory = _ => LegacyGgmlConverter.DefaultRmsEps,
        CustomParser = OptionValues.Float(x => x is > 0 and < 1, "a number between 0 and 1"),
    };

    public static Command Create()
    {
        var self = new ConvertCommand();
        var command = new Command("convert", "Convert a Hugging Face model directory, a llama2.c checkpoint or a legacy GGML file into GGUF.");
        command.Add(self._source);
        command.Add(self._output);
        foreach (var o in new Option[] { self._outType, self._vocab, self._ctx, self._eps })
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        float eps = p.GetValue(_eps);
        string source = p.GetValue(_source)!, output = p.GetValue(_output)!;
        var options = new ConvertOptions
        {
            OutType = OutTypes.Parse(p.GetValue(_outType)!),
            Vocabulary = p.GetValue(_vocab),
            ContextLength = p.GetValue(_ctx),
            RmsEps = eps,
        };
        var clock = Stopwatch.StartNew();
        Interrupts.DeleteUnfinishedOutputs();
        var result = ModelConverter.Convert(source, output, options);
        Log.Info($"converted {result.SourceKind} {source} -> {output} ({Log.Bytes(result.Bytes)}) in {Log.F(clock.Elapsed.TotalSeconds)} s");
        return ExitCodes.Ok;
    }
}
