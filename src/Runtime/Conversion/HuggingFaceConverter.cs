using System.Text.RegularExpressions;
using LlamaAot.Diagnostics;
using LlamaAot.Files;
using LlamaAot.Gguf;

namespace LlamaAot.Conversion;

/// <summary>
/// Converts a Hugging Face llama-family model directory (<c>config.json</c>, <c>tokenizer.model</c> or
/// <c>tokenizer.json</c>, <c>model.safetensors</c> or shards listed in <c>model.safetensors.index.json</c>) into a
/// llama GGUF, as convert_hf_to_gguf.py's LlamaModel does: tensor names mapped to GGUF's, the q/k projections
/// permuted back from HF's rotate-half layout to llama.cpp's adjacent-pair layout, hyperparameters and the
/// SentencePiece vocabulary written as metadata. Tensors stream one row at a time from the memory-mapped
/// safetensors files into the output, so memory use stays at a few rows whatever the model size.
/// </summary>
public static partial class HuggingFaceConverter
{
    /// <summary>Architectures (config.json <c>architectures</c>) that are the llama graph.</summary>
    public static readonly IReadOnlyList<string> SupportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM"];

    /// <param name="output">The GGUF file to write; replaced whole (see <see cref="AtomicOutputFile"/>), never one of
    /// the directory's files.</param>
    public static long Convert(string directory, string output, OutType outType = OutType.Auto)
    {
        using var outputFile = AtomicOutputFile.Create(output, [directory, .. InputFiles(directory)]);
        var config = HuggingFaceConfig.Read(directory);
        var files = OpenSafetensors(directory);
        try
        {
            var tensors = new Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)>(StringComparer.Ordinal);
            foreach (var file in files)
                foreach (var t in file.Tensors)
                    if (!tensors.TryAdd(t.Name, (file, t)))
                        throw new ConversionException($"{directory}: tensor {Excerpt.Quote(t.Name)} is in more than one safetensors file");

            // The tensors first: config.json's sizes are held against them before the vocabulary is padded to vocab_size.
            var plan = Plan(directory, config, tensors);
            var vocabulary = HuggingFaceTokenizer.Read(directory, config);
            var mainType = plan.Where(p => p.Shape.Length == 2).GroupBy(p => p.SourceType).OrderByDescending(g => g.Count()).First().Key;

            var writer = new GgufWriter();
            LlamaGgufMetadata.AddHyperparameters(writer, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))), config.Hyperparameters);
            if (config.RopeScalingFactor is { } factor)
            {
                writer.Add("llama.rope.scaling.type", "linear");
                writer.Add("llama.rope.scaling.factor", factor);
            }
            LlamaGgufMetadata.AddFileType(writer, OutTypes.FileType(outType, mainType));
            LlamaGgufMetadata.AddVocabulary(writer, vocabulary);
            foreach (var p in plan)
            {
                var (file, tensor) = tensors[p.SourceName];
                RowEncoder.Add(writer, p.Name, p.Shape, OutTypes.For(outType, p.SourceType, p.Shape),
                    p.HeadsToPermute is { } heads ? PermutedRows(file, tensor, heads) : (row, values) => file.ReadRow(tensor, row, values));
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

    /// <summary>One output tensor: its GGUF name and shape, the source tensor, and for q/k the head count.</summary>
    private sealed record PlannedTensor(string Name, long[] Shape, string SourceName, GgmlType SourceType, int? HeadsToPermute);

    private static List<PlannedTensor> Plan(string directory, HuggingFaceConfig config, Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> tensors)
    {
        var h = config.Hyperparameters;
        var used = new HashSet<string>(StringComparer.Ordinal);
        var plan = new List<PlannedTensor>();
        void Add(string name, string source, long[] expectedShape, int? permuteHeads = null, bool optional = false)
        {
            if (!tensors.TryGetValue(source, out var entry))
            {
                if (optional)
                    return;
                throw new ConversionException($"{directory}: tensor '{source}' is missing from the safetensors files");
            }
            var t = entry.Tensor;
            long[] ggmlShape = [.. t.Shape.Reverse()];
            if (!ggmlShape.SequenceEqual(expectedShape))
                throw new ConversionException(
                    $"{entry.File.Path}: tensor '{source}' has shape [{string.Join(", ", t.Shape)}], but config.json implies [{string.Join(", ", expectedShape.Reverse())}]");
            used.Add(source);
            plan.Add(new PlannedTensor(name, ggmlShape, source, DTypeOf(t), permuteHeads));
        }

        string configPath = Path.Combine(directory, "config.json");
        if (tensors.TryGetValue("model.embed_tokens.weight", out var embedding) && embedding.Tensor.Shape is [long rows, _] && rows != config.VocabSize)
            throw new ConversionException($"{configPath}: vocab_size {config.VocabSize} does not match tensor 'model.embed_tokens.weight' [{string.Join(", ", embedding.Tensor.Shape)}]");
        int layers = 0;
        while (tensors.ContainsKey($"model.layers.{layers}.input_layernorm.weight"))
            layers++;
        if (h.NLayer > layers)
            throw new ConversionException(
                $"{configPath}: num_hidden_layers {h.NLayer}, but the safetensors files hold {layers} layers{(layers > 0 ? $" (model.layers.0 to model.layers.{layers - 1})" : "")}");

        long vocab = config.VocabSize, embd = h.NEmbd, ff = h.NFf, q = h.NHead * h.HeadDim, kv = h.KvDim;
        Add("token_embd.weight", "model.embed_tokens.weight", [embd, vocab]);
        Add("output_norm.weight", "model.norm.weight", [embd]);
        Add("output.weight", "lm_head.weight", [embd, vocab], optional: config.TieWordEmbeddings);
        for (int i = 0; i < h.NLayer; i++)
        {
            string s = $"model.layers.{i}.", g = $"blk.{i}.";
            Add(g + "attn_q.weight", s + "self_attn.q_proj.weight", [embd, q], permuteHeads: h.NHead);
            Add(g + "attn_k.weight", s + "self_attn.k_proj.weight", [embd, kv], permuteHeads: h.NHeadKv);
            Add(g + "attn_v.weight", s + "self_attn.v_proj.weight", [embd, kv]);
            Add(g + "attn_output.weight", s + "self_attn.o_proj.weight", [q, embd]);
            Add(g + "attn_norm.weight", s + "input_layernorm.weight", [embd]);
            Add(g + "ffn_gate.weight", s + "mlp.gate_proj.weight", [embd, ff]);
            Add(g + "ffn_down.weight", s + "mlp.down_proj.weight", [ff, embd]);
            Add(g + "ffn_up.weight", s + "mlp.up_proj.weight", [embd, ff]);
            Add(g + "ffn_norm.weight", s + "post_attention_layernorm.weight", [embd]);
        }
        // convert_hf_to_gguf.py skips the rotary tables some checkpoints store; anything else would be lost silently.
        var unknown = tensors.Keys.Where(k => !used.Contains(k) && !k.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ConversionException(
                $"{directory}: tensor {Excerpt.Quote(unknown[0])}{(unknown.Count > 1 ? $" (and {unknown.Count - 1} more)" : "")} has no place in a llama model; is this a llama-family checkpoint?");
        return plan;
    }

    private static GgmlType DTypeOf(SafetensorsTensor t) => t.DType switch
    {
        "F16" => GgmlType.F16,
        "BF16" => GgmlType.BF16,
        _ => GgmlType.F32,
    };

    /// <summary>
    /// Rows of a q or k projection in llama.cpp's order. HF stores each head's rows as [first halves of the rotary
    /// pairs; second halves] (convert_llama_weights_to_hf.py's permute); llama.cpp wants the pairs adjacent. Row
    /// 2i+j of a head is row j*headDim/2+i of HF's: convert_hf_to_gguf.py's
    /// <c>w.reshape(n_head, 2, headDim/2, ...).swapaxes(1, 2)</c>.
    /// </summary>
    private static RowEncoder.RowSource PermutedRows(SafetensorsFile file, SafetensorsTensor tensor, int heads)
    {
        long headDim = tensor.Rows / heads, half = headDim / 2;
        return (row, values) =>
        {
            long head = row / headDim, r = row % headDim;
            file.ReadRow(tensor, head * headDim + (r % 2) * half + r / 2, values);
        };
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
