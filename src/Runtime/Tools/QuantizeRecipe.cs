using System.Globalization;
using LlamaAot.Gguf;

namespace LlamaAot.Tools;

/// <summary>
/// A target of <c>llama-aot quantize</c>: llama-quantize's file type (<c>llama_ftype</c>, written as
/// <c>general.file_type</c>) and the base type of its weights (llama.cpp's <c>default_type</c>). For a quantized base
/// type, <see cref="QuantizeMixture"/> then gives some tensors more bits, as llama.cpp's mixture rules do.
/// </summary>
public sealed record QuantizeRecipe(string Name, LlamaFileType FileType, GgmlType BaseType, string Description)
{
    /// <summary>
    /// The recipes, in llama-quantize's listing order. Descriptions are llama-quantize's (sizes and perplexity
    /// increases it measured on Llama-3-8B).
    /// </summary>
    public static IReadOnlyList<QuantizeRecipe> All { get; } =
    [
        new("Q4_0", LlamaFileType.MostlyQ4_0, GgmlType.Q4_0, "4.34G, +0.4685 ppl @ Llama-3-8B"),
        new("Q4_1", LlamaFileType.MostlyQ4_1, GgmlType.Q4_1, "4.78G, +0.4511 ppl @ Llama-3-8B"),
        new("Q5_0", LlamaFileType.MostlyQ5_0, GgmlType.Q5_0, "5.21G, +0.1316 ppl @ Llama-3-8B"),
        new("Q5_1", LlamaFileType.MostlyQ5_1, GgmlType.Q5_1, "5.65G, +0.1062 ppl @ Llama-3-8B"),
        new("IQ4_NL", LlamaFileType.MostlyIQ4_NL, GgmlType.IQ4_NL, "4.50 bpw non-linear quantization"),
        new("IQ4_XS", LlamaFileType.MostlyIQ4_XS, GgmlType.IQ4_XS, "4.25 bpw non-linear quantization"),
        new("Q2_K", LlamaFileType.MostlyQ2_K, GgmlType.Q2_K, "2.96G, +3.5199 ppl @ Llama-3-8B"),
        new("Q3_K_S", LlamaFileType.MostlyQ3_K_S, GgmlType.Q3_K, "3.41G, +1.6321 ppl @ Llama-3-8B"),
        new("Q3_K_M", LlamaFileType.MostlyQ3_K_M, GgmlType.Q3_K, "3.74G, +0.6569 ppl @ Llama-3-8B"),
        new("Q3_K_L", LlamaFileType.MostlyQ3_K_L, GgmlType.Q3_K, "4.03G, +0.5562 ppl @ Llama-3-8B"),
        new("Q4_K_S", LlamaFileType.MostlyQ4_K_S, GgmlType.Q4_K, "4.37G, +0.2689 ppl @ Llama-3-8B"),
        new("Q4_K_M", LlamaFileType.MostlyQ4_K_M, GgmlType.Q4_K, "4.58G, +0.1754 ppl @ Llama-3-8B"),
        new("Q5_K_S", LlamaFileType.MostlyQ5_K_S, GgmlType.Q5_K, "5.21G, +0.1049 ppl @ Llama-3-8B"),
        new("Q5_K_M", LlamaFileType.MostlyQ5_K_M, GgmlType.Q5_K, "5.33G, +0.0569 ppl @ Llama-3-8B"),
        new("Q6_K", LlamaFileType.MostlyQ6_K, GgmlType.Q6_K, "6.14G, +0.0217 ppl @ Llama-3-8B"),
        new("Q8_0", LlamaFileType.MostlyQ8_0, GgmlType.Q8_0, "7.96G, +0.0026 ppl @ Llama-3-8B"),
        new("F16", LlamaFileType.MostlyF16, GgmlType.F16, "14.00G, +0.0020 ppl @ Mistral-7B"),
        new("BF16", LlamaFileType.MostlyBF16, GgmlType.BF16, "14.00G, -0.0050 ppl @ Mistral-7B"),
        new("F32", LlamaFileType.AllF32, GgmlType.F32, "26.00G @ 7B"),
    ];

    /// <summary>Short names llama-quantize also accepts: the medium variant of each K-quant.</summary>
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Q3_K"] = "Q3_K_M",
        ["Q4_K"] = "Q4_K_M",
        ["Q5_K"] = "Q5_K_M",
    };

    /// <summary>
    /// Whether the mixture rules apply: llama.cpp runs them only when the base type is quantized
    /// (<c>ggml_is_quantized(default_type)</c>), so F32, F16 and BF16 convert every weight alike.
    /// </summary>
    public bool IsMixture => BaseType is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16);

    /// <summary>
    /// The recipe named <paramref name="name"/> (any case, an alias such as Q4_K, or the file type's number as
    /// llama-quantize accepts it, e.g. 15 for Q4_K_M); null when there is none.
    /// </summary>
    public static QuantizeRecipe? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = Aliases.GetValueOrDefault(name.Trim(), name.Trim());
        if (int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            return All.FirstOrDefault(r => (int)r.FileType == id);
        return All.FirstOrDefault(r => string.Equals(r.Name, key, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Every accepted name, for error messages and help.</summary>
    public static string Names => string.Join(", ", All.Select(r => r.Name)) + " (aliases: " + string.Join(", ", Aliases.Keys) + ")";

    /// <summary>
    /// A tensor type for <c>--output-tensor-type</c> / <c>--token-embedding-type</c> (ggml's type names, any case):
    /// one this build can write; null otherwise.
    /// </summary>
    public static GgmlType? FindTensorType(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var format in Quants.Formats.All)
        {
            if (string.Equals(format.Type.ToString(), name.Trim(), StringComparison.OrdinalIgnoreCase))
                return format.Type;
        }
        return null;
    }

    /// <summary>The tensor types <see cref="FindTensorType"/> accepts.</summary>
    public static string TensorTypeNames => string.Join(", ", Quants.Formats.All.Select(f => f.Type).Order());

    public override string ToString() => Name;
}
