using System.CommandLine;
using LlamaAot.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Tools;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot quantize IN.gguf OUT.gguf TYPE</c>, llama-quantize's job: writes the model with its weights converted
/// as the recipe TYPE says, with llama.cpp's mixture rules, tensor order and metadata. On a terminal, standard error
/// shows each tensor as it is written; a summary (sizes, bits per weight, time) always ends the run.
/// </summary>
internal sealed class QuantizeCommand
{
    private readonly Argument<string> _input = new("IN.gguf") { Description = "The model to quantize: F32, F16 or BF16 weights." };
    private readonly Argument<string> _output = new("OUT.gguf") { Description = "The file to write (replaced whole if it exists, never left half-written)." };
    private readonly Argument<string> _type = new("TYPE") { Description = $"The recipe: {QuantizeRecipe.Names}; or the file type's number." };
    private readonly Option<bool> _pure = new("--pure")
    {
        Description = "Give every weight the recipe's base type: no mixture rules (rows a type cannot hold still fall back).",
    };
    private readonly Option<string?> _outputType = new("--output-tensor-type")
    {
        Description = $"Type of output.weight ({QuantizeRecipe.TensorTypeNames}).",
        HelpName = "TYPE",
    };
    private readonly Option<string?> _tokenType = new("--token-embedding-type")
    {
        Description = "Type of token_embd.weight (same types as --output-tensor-type).",
        HelpName = "TYPE",
    };
    private readonly Option<bool> _allowRequantize = new("--allow-requantize")
    {
        Description = "Accept already-quantized weights as the source (quality suffers: start from F32, F16 or BF16 when you can).",
    };
    private readonly Option<int> _threads = CommonOptions.Threads("Threads quantizing; the output does not depend on it");

    public static Command Create()
    {
        var self = new QuantizeCommand();
        var command = new Command("quantize", "Quantize a GGUF model, as llama-quantize does (same mixtures, same bytes).");
        command.Add(self._input);
        command.Add(self._output);
        command.Add(self._type);
        foreach (var o in new Option[] { self._pure, self._outputType, self._tokenType, self._allowRequantize, self._threads })
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        string typeName = p.GetValue(_type)!;
        var recipe = QuantizeRecipe.Find(typeName)
            ?? throw new UsageException($"unknown quantization type {Excerpt.Quote(typeName)}; choose one of {QuantizeRecipe.Names}");
        int threads = p.GetValue(_threads);
        var options = new QuantizeOptions
        {
            Recipe = recipe,
            Pure = p.GetValue(_pure),
            OutputTensorType = TensorType(p.GetValue(_outputType), "--output-tensor-type"),
            TokenEmbeddingType = TensorType(p.GetValue(_tokenType), "--token-embedding-type"),
            AllowRequantize = p.GetValue(_allowRequantize),
            Threads = threads > 0 ? threads : Threading.CpuInfo.PhysicalCores,
        };
        string input = p.GetValue(_input)!, output = p.GetValue(_output)!;
        bool terminal = !Console.IsErrorRedirected;
        if (terminal)
            Log.Info($"quantizing {input} to {output} as {recipe.Name} ({LlamaFileTypes.Name(recipe.FileType)}), {options.Threads} threads");

        Interrupts.DeleteUnfinishedOutputs();
        var summary = Quantizer.Quantize(input, output, options, terminal ? Show : null);
        Summary(summary, output);
        return ExitCodes.Ok;
    }

    private static GgmlType? TensorType(string? name, string flag) =>
        name is null ? null : QuantizeRecipe.FindTensorType(name)
            ?? throw new UsageException($"unknown tensor type {Excerpt.Quote(name)} for {flag}; choose one of {QuantizeRecipe.TensorTypeNames}");

    /// <summary>One line per tensor, in llama-quantize's spirit: position, name, types, shape, sizes.</summary>
    private static void Show(QuantizeProgress e)
    {
        var t = e.Tensor;
        // "[ 12/ 48]" as llama-quantize pads its counter; names and types in columns.
        int width = Math.Max(3, e.Count.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        string Pad(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width);
        string shape = $"[{string.Join(", ", t.Shape)}]";
        string fallback = t.FellBack ? $"  ({t.Intended} needs rows of {GgmlTypes.GeometryOf(t.Intended).BlockSize}: fallback)" : "";
        Console.Error.WriteLine(
            $"[{Pad(e.Index)}/{Pad(e.Count)}] {t.Name,-32} {t.Source.Type,-6} -> {t.Type,-6} {shape,-14} {Log.Bytes(t.Source.ByteSize),10} -> {Log.Bytes(t.ByteSize),10}{fallback}");
    }

    private static void Summary(QuantizeSummary s, string output)
    {
        const double MiB = 1 << 20;
        Log.Info($"model size: {Log.F(s.BytesBefore / MiB)} MiB ({Log.F(s.BitsPerWeightBefore)} bits per weight)");
        Log.Info($"quant size: {Log.F(s.BytesAfter / MiB)} MiB ({Log.F(s.BitsPerWeightAfter)} bits per weight); {output}: {Log.F(s.FileBytes / MiB)} MiB");
        Log.Info($"{s.Converted} of {s.Tensors} tensors converted in {Log.F(s.Elapsed.TotalSeconds)} s");
        if (s.Fallbacks > 0)
            Log.Info($"warning: {s.Fallbacks} of {s.Tensors} tensors used a fallback type: their rows are not a whole number of the chosen type's blocks");
    }
}
