using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Model;

/// <summary>
/// A 2-D weight tensor as the forward pass uses it: <see cref="Rows"/> rows of <see cref="K"/> values in
/// <see cref="Format"/>, read in place from the memory-mapped file, and the kernels chosen for it at load.
/// </summary>
internal sealed unsafe class WeightMatrix
{
    public WeightMatrix(string name, WeightFormat format, byte* data, int rows, int k, KernelIsa isa)
    {
        Name = name;
        Format = format;
        Data = data;
        Rows = rows;
        K = k;
        RowBytes = format.RowBytes(k);
        Kernels = KernelSelection.Select(format, k, isa);
    }

    public string Name { get; }
    public WeightFormat Format { get; }
    public byte* Data { get; }
    public int Rows { get; }

    /// <summary>Values per row: the inner dimension of the product.</summary>
    public int K { get; }
    public long RowBytes { get; }
    public KernelEntry Kernels { get; }

    /// <summary>Loads <paramref name="name"/> and checks it is [k, rows] (ggml order) in a computable format.</summary>
    public static WeightMatrix Load(GgufFile file, string name, int k, int rows, KernelIsa isa)
    {
        var t = RequireTensor(file, name);
        if (t.Shape.Length != 2 || t.Shape[0] != k || t.Shape[1] != rows)
            throw new GgufFormatException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{k}, {rows}]");
        return new WeightMatrix(name, FormatOf(t), file.GetPointer(t), rows, k, isa);
    }

    /// <summary>Reads a 1-D tensor of <paramref name="length"/> values as floats (norm weights).</summary>
    public static float[] LoadVector(GgufFile file, string name, int length)
    {
        var t = RequireTensor(file, name);
        if (t.ElementCount != length || t.Shape[0] != length)
            throw new GgufFormatException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{length}]");
        var values = new float[length];
        FormatOf(t).Dequantize(file.GetData(t), values);
        return values;
    }

    public static GgufTensorInfo RequireTensor(GgufFile file, string name) =>
        file.FindTensor(name) ?? throw new GgufFormatException($"missing tensor '{name}'");

    public static WeightFormat FormatOf(GgufTensorInfo t) =>
        Formats.Find(t.Type) ?? throw new NotSupportedException(
            $"tensor '{t.Name}' has type {t.Type}, which this build of llama-aot cannot compute with (supported: {string.Join(", ", Formats.All.Select(f => f.Type).Order())})");

    public override string ToString() => $"{Name} {Format.Type} [{K}, {Rows}]";
}
