using System.Diagnostics;
using LlamaAot.Diagnostics;
using LlamaAot.Files;
using LlamaAot.Gguf;
using LlamaAot.Quants;
using LlamaAot.Threading;

namespace LlamaAot.Tools;

/// <summary>How to quantize: the recipe and llama-quantize's options.</summary>
public sealed record QuantizeOptions
{
    public required QuantizeRecipe Recipe { get; init; }

    /// <summary>--pure: every quantizable weight gets the recipe's base type, no mixture rules (the row fallback still
    /// applies: llama-quantize would stop on a row its type cannot hold).</summary>
    public bool Pure { get; init; }

    /// <summary>--output-tensor-type: the type of output.weight.</summary>
    public GgmlType? OutputTensorType { get; init; }

    /// <summary>--token-embedding-type: the type of token_embd.weight (and per_layer_token_embd.weight).</summary>
    public GgmlType? TokenEmbeddingType { get; init; }

    /// <summary>--allow-requantize: accept already-quantized weights as the source (quality suffers).</summary>
    public bool AllowRequantize { get; init; }

    /// <summary>Threads quantizing rows; the bytes written do not depend on it.</summary>
    public int Threads { get; init; } = CpuInfo.PhysicalCores;
}

/// <summary>One tensor of the output file: where it comes from and what it becomes.</summary>
/// <param name="Source">The input tensor.</param>
/// <param name="Shape">Its shape as ggml writes it (trailing dimensions of 1 dropped).</param>
/// <param name="Type">Its type in the output.</param>
/// <param name="Intended">The type the rules chose before the row fallback; equals <paramref name="Type"/> unless
/// the rows are not a whole number of its blocks.</param>
public sealed record TensorPlan(GgufTensorInfo Source, long[] Shape, GgmlType Type, GgmlType Intended)
{
    public string Name => Source.Name;

    /// <summary>Whether the data is converted (otherwise copied byte for byte).</summary>
    public bool Converted => Type != Source.Type;

    public bool FellBack => Type != Intended;

    public long ByteSize => GgmlTypes.RowBytes(Type, Shape[0]) * Source.Rows;
}

/// <summary>Reported after each tensor is written.</summary>
public sealed record QuantizeProgress(int Index, int Count, TensorPlan Tensor);

/// <summary>What a run did.</summary>
public sealed record QuantizeSummary(int Tensors, int Converted, int Fallbacks, long Elements, long BytesBefore, long BytesAfter, long FileBytes, TimeSpan Elapsed)
{
    public double BitsPerWeightBefore => Elements == 0 ? 0 : BytesBefore * 8.0 / Elements;

    public double BitsPerWeightAfter => Elements == 0 ? 0 : BytesAfter * 8.0 / Elements;
}

/// <summary>
/// llama-quantize in C#: reads a GGUF model (F32, F16 or BF16 weights; quantized ones with
/// <see cref="QuantizeOptions.AllowRequantize"/>) and writes it with the weights converted as a recipe says, in
/// llama-quantize's tensor order and metadata (llama.cpp's <c>llama_model_quantize_impl</c>, 0.5.0). Quantization
/// uses each format's fast quantizer (<see cref="WeightFormat.QuantizeFast"/>: byte for byte its reference, which
/// writes llama.cpp's bytes); rows are split over threads and the output does not depend on how many.
/// </summary>
public static class Quantizer
{
    /// <summary>llama.cpp's GGML_QNT_VERSION, written as general.quantization_version.</summary>
    public const uint QuantizationVersion = 2;

    // Rows are quantized in chunks of about this many bytes (in or out), so a tensor of any size streams through
    // a bounded buffer.
    private const long ChunkBytes = 16L << 20;

    /// <summary>
    /// Quantizes <paramref name="inputPath"/> into <paramref name="outputPath"/>, which is replaced whole, or left as it
    /// was if the run fails or is cancelled (see <see cref="AtomicOutputFile"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">No input file.</exception>
    /// <exception cref="GgufFormatException">The input is not a valid GGUF file.</exception>
    /// <exception cref="QuantizeException">The model cannot be quantized as asked.</exception>
    /// <exception cref="OutputFileException">The output cannot be written (a directory, a device, the input itself, a
    /// full disk).</exception>
    public static QuantizeSummary Quantize(string inputPath, string outputPath, QuantizeOptions options,
        Action<QuantizeProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Threads, 1);
        var clock = Stopwatch.StartNew();
        using var input = GgufFile.Open(inputPath);
        if (input.Metadata.Contains("split.count") && input.Metadata.GetInt64("split.count") > 1)
            throw new QuantizeException($"{inputPath} is one part of a split model; merge the parts first (llama-gguf-split --merge)");
        using var output = AtomicOutputFile.Create(outputPath, inputPath);
        var plan = Plan(input, options);

        var writer = new GgufWriter();
        writer.AddMetadata(input.Metadata);
        // As llama.cpp's gguf_set_val_u32 does: a key already there moves to the end.
        writer.Remove("general.quantization_version");
        writer.Add("general.quantization_version", QuantizationVersion);
        writer.Remove("general.file_type");
        writer.Add("general.file_type", (uint)options.Recipe.FileType);
        foreach (string key in new[] { "split.no", "split.count", "split.tensors.count" })
            writer.Remove(key);

        using var pool = new WorkerPool(options.Threads);
        int done = 0;
        foreach (var tensor in plan)
        {
            writer.AddTensor(tensor.Name, tensor.Shape, tensor.Type, stream =>
            {
                WriteTensor(input, tensor, stream, pool, cancellationToken);
                input.Release(tensor.Source); // its pages are done with: keeps resident memory near one tensor, not the model
                progress?.Invoke(new QuantizeProgress(++done, plan.Count, tensor));
            });
        }
        long fileBytes = writer.WriteTo(output);
        output.Commit();
        return new QuantizeSummary(plan.Count, plan.Count(t => t.Converted), plan.Count(t => t.FellBack),
            plan.Sum(t => t.Source.ElementCount), plan.Sum(t => t.Source.ByteSize), plan.Sum(t => t.ByteSize), fileBytes, clock.Elapsed);
    }

    /// <summary>
    /// The output's tensors, in the order llama-quantize writes them, with the type of each: the recipe's mixture
    /// rules (unless pure), then the explicit overrides, then the row fallback. Checks that every tensor to convert
    /// can be read, so a run fails before it writes anything.
    /// </summary>
    public static IReadOnlyList<TensorPlan> Plan(GgufFile input, QuantizeOptions options)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        var recipe = options.Recipe;
        var mixture = new QuantizeMixture(recipe, ModelFacts.From(input));
        var plan = new List<TensorPlan>(input.Tensors.Count);
        foreach (var tensor in input.Tensors.OrderBy(t => t.Name, WriteOrder))
        {
            long[] shape = GgmlShape(tensor.Shape);
            var type = tensor.Type;
            var intended = type;
            if (IsQuantizable(tensor.Name, shape))
            {
                var category = QuantizeMixture.CategoryOf(tensor.Name);
                intended = recipe.BaseType;
                if (!options.Pure && recipe.IsMixture)
                    intended = mixture.IsOutput(category) && options.OutputTensorType is { } o ? o : mixture.Choose(tensor.Name, shape[0]);
                if (options.TokenEmbeddingType is { } e && category == TensorCategory.TokenEmbedding)
                    intended = e;
                if (options.OutputTensorType is { } output && category == TensorCategory.Output)
                    intended = output;
                type = QuantizeMixture.Fallback(intended, shape[0]);
            }
            var entry = new TensorPlan(tensor, shape, type, intended);
            if (entry.Converted)
                CheckConvertible(entry, options);
            plan.Add(entry);
        }
        return plan;
    }

    private static void CheckConvertible(TensorPlan t, QuantizeOptions options)
    {
        var from = t.Source.Type;
        if (Formats.Find(from) is null)
            throw new QuantizeException($"tensor {Excerpt.Quote(t.Name)} is {from}, a type this build cannot read, so it cannot become {t.Type}");
        if (from is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16) && !options.AllowRequantize)
            throw new QuantizeException(
                $"tensor {Excerpt.Quote(t.Name)} is already quantized ({from}); quantizing it again to {t.Type} loses quality: start from an F32, F16 or BF16 model, or pass --allow-requantize");
        if (Formats.Find(t.Type) is null)
            throw new QuantizeException($"tensor {Excerpt.Quote(t.Name)}: this build cannot write {t.Type}");
        if (t.Shape[0] > int.MaxValue / sizeof(float))
            throw new QuantizeException($"tensor {Excerpt.Quote(t.Name)} has rows of {t.Shape[0]} values: too long to quantize");
    }

    /// <summary>
    /// Whether llama-quantize converts a tensor at all (0.5.0's tensor_allows_quantization): 2-D or more, named
    /// "...weight", and none of the tensors it always keeps (norms, MoE gate inputs and routing tables, position and
    /// token-type embeddings, small Gemma 3n/Mamba/LFM2/RWKV/T5 weights, indexers, multimodal patch and position
    /// weights, audio codebooks).
    /// </summary>
    public static bool IsQuantizable(string name, ReadOnlySpan<long> shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.EndsWith("weight", StringComparison.Ordinal) || GgmlShape(shape).Length < 2)
            return false;
        if (name is "position_embd.weight" or "token_types.weight")
            return false;
        foreach (string kept in KeptWeights)
        {
            if (name.Contains(kept, StringComparison.Ordinal))
                return false;
        }
        return true;
    }

    private static readonly string[] KeptWeights =
    [
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
        "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
        "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
        ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    ];

    /// <summary>
    /// llama-quantize's tensor order (llama_model_loader's weight_name_comparer): by the layer number of "blk.N."
    /// (tensors outside the blocks first), then by name, byte-wise.
    /// </summary>
    public static IComparer<string> WriteOrder { get; } = Comparer<string>.Create((a, b) =>
    {
        int la = LayerOf(a), lb = LayerOf(b);
        return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
    });

    /// <summary>N of a name starting "blk.N" (sscanf "blk.%d." semantics: sign and digits), else -1.</summary>
    internal static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal))
            return -1;
        int i = 4, sign = 1;
        if (i < name.Length && name[i] is '+' or '-')
            sign = name[i++] == '-' ? -1 : 1;
        int start = i;
        long value = 0;
        while (i < name.Length && char.IsAsciiDigit(name[i]) && value <= int.MaxValue)
            value = value * 10 + (name[i++] - '0');
        return i == start || value > int.MaxValue ? -1 : (int)(sign * value);
    }

    /// <summary>A shape as ggml writes it (ggml_n_dims): trailing dimensions of 1 dropped, at least one kept.</summary>
    private static long[] GgmlShape(ReadOnlySpan<long> shape)
    {
        int n = shape.Length;
        while (n > 1 && shape[n - 1] == 1)
            n--;
        return shape[..n].ToArray();
    }

    /// <summary>Writes one tensor's data: copied, or converted row by row in chunks, the rows of each chunk split over the pool.</summary>
    private static unsafe void WriteTensor(GgufFile input, TensorPlan t, Stream stream, WorkerPool pool, CancellationToken cancellationToken)
    {
        byte* source = input.GetPointer(t.Source);
        if (!t.Converted)
        {
            for (long at = 0; at < t.Source.ByteSize; at += int.MaxValue)
                stream.Write(new ReadOnlySpan<byte>(source + at, (int)Math.Min(int.MaxValue, t.Source.ByteSize - at)));
            return;
        }
        var from = Formats.Get(t.Source.Type);
        var to = Formats.Get(t.Type);
        int k = checked((int)t.Shape[0]);
        long rows = t.Source.Rows;
        long sourceRowBytes = from.RowBytes(k), rowBytes = to.RowBytes(k);
        int chunkRows = (int)Math.Clamp(ChunkBytes / Math.Max(rowBytes, k * (long)sizeof(float)), 1, Math.Min(rows, int.MaxValue / rowBytes));
        var buffer = new byte[chunkRows * rowBytes];
        var work = new RowWork((nint)source, sourceRowBytes, from, to, k, rowBytes, buffer);
        for (long first = 0; first < rows; first += chunkRows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = (int)Math.Min(chunkRows, rows - first);
            work.First = first;
            pool.For(n, k, work.Run);
            stream.Write(buffer, 0, (int)(n * rowBytes));
        }
    }

    /// <summary>Converts rows [First + start, First + end) of a tensor into the chunk buffer.</summary>
    private sealed class RowWork(nint source, long sourceRowBytes, WeightFormat from, WeightFormat to, int k, long rowBytes, byte[] buffer)
    {
        public long First;

        public unsafe void Run(int start, int end)
        {
            // An F32 source is read in place; any other is first dequantized into this thread's row.
            float[]? row = from.Type == GgmlType.F32 ? null : new float[k];
            for (int i = start; i < end; i++)
            {
                var bytes = new ReadOnlySpan<byte>((byte*)source + (First + i) * sourceRowBytes, (int)sourceRowBytes);
                ReadOnlySpan<float> values;
                if (row is null)
                    values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes);
                else
                {
                    from.DequantizeFast(bytes, row);
                    values = row;
                }
                to.QuantizeFast(values, buffer.AsSpan((int)(i * rowBytes), (int)rowBytes));
            }
        }
    }
}
