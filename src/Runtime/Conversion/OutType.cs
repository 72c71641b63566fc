using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Conversion;

/// <summary>The element type a converter writes weight matrices in (<c>--outtype</c>).</summary>
public enum OutType
{
    /// <summary>Keep each tensor's own type where it is one GGUF can hold (lossless).</summary>
    Auto,
    F32,
    F16,
    BF16,
    Q8_0,
}

/// <summary>convert_hf_to_gguf.py's policy for the type of each tensor written.</summary>
public static class OutTypes
{
    /// <summary>Parses an <c>--outtype</c> value (f32, f16, bf16, q8_0, auto), case-insensitively.</summary>
    public static OutType Parse(string value) => value.ToLowerInvariant() switch
    {
        "auto" => OutType.Auto,
        "f32" => OutType.F32,
        "f16" => OutType.F16,
        "bf16" => OutType.BF16,
        "q8_0" => OutType.Q8_0,
        _ => throw new ArgumentException($"unknown output type '{value}' (expected f32, f16, bf16 or q8_0)"),
    };

    /// <summary>
    /// The type a tensor is written in. Vectors (norms) stay F32, as llama.cpp computes them in F32; matrices take
    /// <paramref name="outType"/>, or <paramref name="sourceType"/> when it is <see cref="OutType.Auto"/>. A Q8_0
    /// matrix whose rows are not a whole number of blocks falls back to F16 (stories260K's 172-wide ffn_down), as
    /// convert_hf_to_gguf.py does.
    /// </summary>
    public static GgmlType For(OutType outType, GgmlType sourceType, ReadOnlySpan<long> shape)
    {
        if (shape.Length < 2)
            return GgmlType.F32;
        var type = outType switch
        {
            OutType.F32 => GgmlType.F32,
            OutType.F16 => GgmlType.F16,
            OutType.BF16 => GgmlType.BF16,
            OutType.Q8_0 => GgmlType.Q8_0,
            _ => sourceType,
        };
        return shape[0] % GgmlTypes.GeometryOf(type).BlockSize == 0 ? type : GgmlType.F16;
    }

    /// <summary><c>general.file_type</c> of a model converted to <paramref name="outType"/> from tensors of
    /// <paramref name="mainSourceType"/> (the type of most of its matrices).</summary>
    public static LlamaFileType FileType(OutType outType, GgmlType mainSourceType) =>
        LlamaFileTypes.Pure(outType switch
        {
            OutType.F32 => GgmlType.F32,
            OutType.F16 => GgmlType.F16,
            OutType.BF16 => GgmlType.BF16,
            OutType.Q8_0 => GgmlType.Q8_0,
            _ => mainSourceType,
        }) ?? LlamaFileType.AllF32;
}

/// <summary>Row-by-row encoding of float rows into a GGUF tensor of any type llama-aot can quantize to.</summary>
internal static class RowEncoder
{
    /// <summary>Reads row <c>r</c> of a source tensor into the span as floats.</summary>
    public delegate void RowSource(long row, Span<float> destination);

    /// <summary>
    /// Adds a tensor to <paramref name="writer"/> whose data is produced during the write: each row is read as
    /// floats from <paramref name="source"/> and encoded as <paramref name="type"/>, so only one row is in memory.
    /// </summary>
    public static void Add(GgufWriter writer, string name, long[] shape, GgmlType type, RowSource source)
    {
        long k = shape[0], rows = 1;
        for (int d = 1; d < shape.Length; d++)
            rows *= shape[d];
        if (k > int.MaxValue / sizeof(float))
            throw new ConversionException($"tensor '{name}' has rows of {k} values: too long to convert");
        var format = Formats.Get(type);
        writer.AddTensor(name, shape, type, stream =>
        {
            var values = new float[k];
            var bytes = new byte[format.RowBytes(k)];
            for (long r = 0; r < rows; r++)
            {
                source(r, values);
                format.QuantizeFast(values, bytes);
                stream.Write(bytes);
            }
        });
    }
}
