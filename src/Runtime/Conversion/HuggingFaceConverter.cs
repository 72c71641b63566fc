using System.Text.RegularExpressions;
using LlamaAot.Diagnostics;
using LlamaAot.Files;
using LlamaAot.Gguf;

namespace LlamaAot.Conversion;

/// <summary>
/// Converts a Hugging Face model directory (<c>config.json</c>, <c>tokenizer.model</c> or <c>tokenizer.json</c>,
/// <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>) into a GGUF, as
/// convert_hf_to_gguf.py does for the architecture config.json names (<see cref="HuggingFaceArchitecture"/>: its
/// tensor names, permutations, norm shifts, metadata and computed tensors), with the vocabulary (SentencePiece or
/// byte-level BPE) as metadata. Tensors stream one row at a time from the memory-mapped safetensors files into the
/// output, so memory use stays at a few rows whatever the model size.
/// </summary>
public static partial class HuggingFaceConverter
{
    /// <summary>config.json <c>architectures</c> names that convert.</summary>
    public static IEnumerable<string> SupportedArchitectures => HuggingFaceArchitecture.All.SelectMany(a => a.HfNames);

    /// <param name="output">The GGUF file to write; replaced whole (see <see cref="AtomicOutputFile"/>), never one of
    /// the directory's files.</param>
    public static long Convert(string directory, string output, OutType outType = OutType.Auto)
    {
        using var outputFile = AtomicOutputFile.Create(output, [directory, .. InputFiles(directory)]);
        var config = HuggingFaceConfig.Read(directory);
        var architecture = config.Architecture;
        var files = OpenSafetensors(directory);
        try
        {
            var tensors = new Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                foreach (var t in file.Tensors)
                {
                    if (TextModelName(t.Name) is { } name && !tensors.TryAdd(name, (file, t)))
                        throw new ConversionException($"{directory}: tensor {Excerpt.Quote(t.Name)} is in more than one safetensors file");
                }
            }

            // The tensors first: config.json's sizes are held against them before the vocabulary is padded to vocab_size.
            var plan = Plan(directory, config, tensors);
            var vocabulary = HuggingFaceTokenizer.Read(directory, config);
            var mainType = plan.Where(p => p.Shape.Length == 2).GroupBy(p => p.SourceType).OrderByDescending(g => g.Count()).First().Key;

            var writer = new GgufWriter();
            writer.Add("general.architecture", architecture.Name);
            writer.Add("general.name", Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))));
            architecture.AddMetadata(new ArchitectureMetadata(writer, architecture.Name), config);
            LlamaGgufMetadata.AddFileType(writer, OutTypes.FileType(outType, mainType));
            vocabulary.AddTo(writer);
            foreach (var (name, values) in architecture.ComputedTensors(config))
                writer.AddTensor(name, [values.Length], values);
            foreach (var p in plan)
            {
                var (file, tensor) = tensors[p.SourceName];
                RowEncoder.Add(writer, p.Name, p.Shape, OutTypes.For(outType, p.SourceType, p.Shape), Rows(file, tensor, p, architecture.NormShift));
            }
            long length = writer.WriteTo(outputFile);
            outputFile.Commit();
            return length;
        }
        finally
        {
            foreach (var f in files)
                f.Dispose();
        }
    }

    /// <summary>
    /// A tensor's name as the text model knows it, or null for a tensor that is not the text model's: a multimodal
    /// checkpoint's language model under <c>language_model.</c>, its vision tower and projector skipped (as
    /// convert_hf_to_gguf.py's filter_tensors do), and the rotary tables some checkpoints store.
    /// </summary>
    private static string? TextModelName(string name)
    {
        string[] parts = name.Split('.');
        if (parts.Contains("vision_tower") || parts.Contains("multi_modal_projector") || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal))
            return null;
        return name.Replace("language_model.", "", StringComparison.Ordinal);
    }

    /// <summary>One output tensor: its GGUF name and shape, the safetensors tensor and its type, and what its
    /// <see cref="TensorRule"/> does on the way.</summary>
    private sealed record PlannedTensor(string Name, long[] Shape, string SourceName, GgmlType SourceType, int? PermuteHeads, bool IsNorm);

    private static List<PlannedTensor> Plan(string directory, HuggingFaceConfig config, Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> tensors)
    {
        var architecture = config.Architecture;
        var used = new HashSet<string>(architecture.DroppedTensors, StringComparer.Ordinal);
        var plan = new List<PlannedTensor>();
        void Add(TensorRule rule, string name, string source)
        {
            if (!tensors.TryGetValue(source, out var entry))
            {
                if (rule.Optional)
                    return;
                throw new ConversionException($"{directory}: tensor '{source}' is missing from the safetensors files");
            }
            var t = entry.Tensor;
            long[] ggmlShape = [.. t.Shape.Reverse()];
            if (!ggmlShape.SequenceEqual(rule.Shape))
                throw new ConversionException(
                    $"{entry.File.Path}: tensor '{source}' has shape [{string.Join(", ", t.Shape)}], but config.json implies [{string.Join(", ", rule.Shape.Reverse())}]");
            used.Add(source);
            plan.Add(new PlannedTensor(name, ggmlShape, source, DTypeOf(t), rule.PermuteHeads, rule.IsNorm));
        }

        if (tensors.TryGetValue("model.embed_tokens.weight", out var embedding) && embedding.Tensor.Shape is [long rows, _] && rows != config.VocabSize)
            throw new ConversionException($"{config.Path}: vocab_size {config.VocabSize} does not match tensor 'model.embed_tokens.weight' [{string.Join(", ", embedding.Tensor.Shape)}]");
        int layers = 0;
        while (tensors.ContainsKey($"model.layers.{layers}.input_layernorm.weight"))
            layers++;
        if (config.NLayer > layers)
            throw new ConversionException(
                $"{config.Path}: num_hidden_layers {config.NLayer}, but the safetensors files hold {layers} layers{(layers > 0 ? $" (model.layers.0 to model.layers.{layers - 1})" : "")}");

        foreach (var rule in architecture.GlobalTensors(config))
            Add(rule, rule.Name, rule.Source);
        var layerRules = architecture.LayerTensors(config).ToList();
        for (int i = 0; i < config.NLayer; i++)
        {
            foreach (var rule in layerRules)
                Add(rule, $"blk.{i}.{rule.Name}", $"model.layers.{i}.{rule.Source}");
        }
        // Anything else would be lost silently.
        var unknown = tensors.Keys.Where(k => !used.Contains(k)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ConversionException(
                $"{directory}: tensor {Excerpt.Quote(unknown[0])}{(unknown.Count > 1 ? $" (and {unknown.Count - 1} more)" : "")} has no place in a {architecture.Name} model ({config.HfArchitecture}); is config.json's architecture the checkpoint's?");
        return plan;
    }

    private static GgmlType DTypeOf(SafetensorsTensor t) => t.DType switch
    {
        "F16" => GgmlType.F16,
        "BF16" => GgmlType.BF16,
        _ => GgmlType.F32,
    };

    /// <summary>
    /// The rows of a planned tensor as floats. q/k rows go into llama.cpp's order: HF stores each head's rows as [first
    /// halves of the rotary pairs; second halves] (convert_llama_weights_to_hf.py's permute), llama.cpp wants the
    /// pairs adjacent, so row 2i+j of a head is row j*headDim/2+i of HF's (convert_hf_to_gguf.py's
    /// <c>w.reshape(n_head, 2, headDim/2, ...).swapaxes(1, 2)</c>). Norms gain <paramref name="normShift"/> in the
    /// checkpoint's precision: torch adds it to F16 tensors in F16, to BF16 ones after widening them to float32.
    /// </summary>
    private static RowEncoder.RowSource Rows(SafetensorsFile file, SafetensorsTensor tensor, PlannedTensor p, float normShift)
    {
        if (p.PermuteHeads is { } heads)
        {
            long headDim = tensor.Rows / heads, half = headDim / 2;
            return (row, values) =>
            {
                long head = row / headDim, r = row % headDim;
                file.ReadRow(tensor, head * headDim + (r % 2) * half + r / 2, values);
            };
        }
        if (p.IsNorm && normShift != 0)
        {
            bool f16 = p.SourceType == GgmlType.F16;
            return (row, values) =>
            {
                file.ReadRow(tensor, row, values);
                foreach (ref float v in values)
                    v = f16 ? (float)(Half)(v + normShift) : v + normShift;
            };
        }
        return (row, values) => file.ReadRow(tensor, row, values);
    }

    /// <summary>The kinds of file a conversion reads in <paramref name="directory"/> (config and tokenizer JSON,
    /// tokenizer.model, safetensors): the output must not be one of them.</summary>
    private static IEnumerable<string> InputFiles(string directory) =>
        Directory.Exists(directory)
            ? new[] { "*.json", "*.model", "*.safetensors" }.SelectMany(pattern => Directory.EnumerateFiles(directory, pattern))
            : [];

    /// <summary>The model's safetensors files: the shards the index names, else model.safetensors, else every
    /// *.safetensors file.</summary>
    private static List<SafetensorsFile> OpenSafetensors(string directory)
    {
        string index = Path.Combine(directory, "model.safetensors.index.json");
        List<string> paths;
        if (File.Exists(index))
        {
            using var doc = JsonFile.Parse(index);
            var map = JsonFile.Object(JsonFile.Required(JsonFile.Root(doc, index), "weight_map", index, "the index"), index, "weight_map");
            var names = map.EnumerateObject().Select(p => JsonFile.String(p.Value, index, $"the shard of tensor {Excerpt.Quote(p.Name)}"))
                .Distinct().Order(StringComparer.Ordinal).ToList();
            foreach (string name in names)
            {
                // A shard is a file of the directory: a path ("../x", "/etc/x") would read, and let the output
                // replace, a file the directory's input checks never see.
                if (name != Path.GetFileName(name) || name is "" or "." or "..")
                    throw new ConversionException($"{index} names the shard {Excerpt.Quote(name)}, which is not a file name");
                if (!File.Exists(Path.Combine(directory, name)))
                    throw new ConversionException($"{index} names the shard {Excerpt.Quote(name)}, which is not in {directory}");
            }
            paths = names.ConvertAll(name => Path.Combine(directory, name));
        }
        else if (File.Exists(Path.Combine(directory, "model.safetensors")))
        {
            paths = [Path.Combine(directory, "model.safetensors")];
        }
        else
        {
            paths = Directory.GetFiles(directory, "*.safetensors").Order(StringComparer.Ordinal).ToList();
            if (paths.Count == 0)
                throw new ConversionException(
                    $"{directory}: no model.safetensors, model.safetensors.index.json or *.safetensors file (PyTorch .bin checkpoints are not supported)");
        }
        var files = new List<SafetensorsFile>();
        try
        {
            foreach (string p in paths)
                files.Add(SafetensorsFile.Open(p));
            return files;
        }
        catch
        {
            foreach (var f in files)
                f.Dispose();
            throw;
        }
    }

    [GeneratedRegex("^<0x[0-9A-Fa-f]{2}>$")]
    internal static partial Regex ByteToken();
}
