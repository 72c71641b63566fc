using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Model;

/// <summary>
/// A 2-D weight tensor as the forward pass uses it: <see cref="Rows"/> rows of <see cref="K"/> values in
/// <see cref="Format"/>, and the kernels chosen for it at load. The data is copied once into memory of the same size,
/// repacked when the kernels want interleaved rows, and the file's pages are released; tables whose rows are looked
/// up (and every matrix with LLAMA_AOT_REPACK=0) are read in place from the memory-mapped file.
/// </summary>
internal sealed unsafe class WeightMatrix : IDisposable
{
    private readonly AlignedBuffer? _repacked;

    private WeightMatrix(string name, WeightFormat format, byte* data, int rows, int k, KernelEntry kernels, AlignedBuffer? repacked, KernelEntry? panelKernels = null)
    {
        PanelKernels = panelKernels;
        Name = name;
        Format = format;
        Data = data;
        Rows = rows;
        K = k;
        RowBytes = format.RowBytes(k);
        Kernels = kernels;
        _repacked = repacked;
    }

    public string Name { get; }
    public WeightFormat Format { get; }

    /// <summary>Row r starts at Data + r * RowBytes (for interleaved kernels: its group does, when r is a group's first row).</summary>
    public byte* Data { get; }
    public int Rows { get; }

    /// <summary>Values per row: the inner dimension of the product.</summary>
    public int K { get; }
    public long RowBytes { get; }
    public KernelEntry Kernels { get; }

    /// <summary>
    /// F16 weights only: the F32 kernels that prompts use on rows widened to floats one panel at a time, in the F16
    /// kernels' own layout (see <see cref="MatMul"/>); the widening costs a conversion per weight per panel instead of
    /// one per token tile.
    /// Null when the weights are multiplied as they are.
    /// </summary>
    public KernelEntry? PanelKernels { get; }

    /// <summary>Bytes of memory taken by the copy, repacked or not (0 when the weights are read from the file).</summary>
    public long RepackedBytes => _repacked?.Bytes ?? 0;

    /// <summary>
    /// Loads <paramref name="name"/>, checks it is [k, rows] (ggml order) in a computable format, and picks its
    /// kernels; <paramref name="allowRepack"/> is false for tables whose rows are looked up (token embeddings), and
    /// <paramref name="releaseFile"/> false when such a table is the same tensor (its pages are still read).
    /// </summary>
    public static WeightMatrix Load(GgufFile file, string name, int k, int rows, KernelIsa isa, bool allowRepack = true, bool releaseFile = true)
    {
        var t = RequireTensor(file, name);
        if (t.Shape.Length != 2 || t.Shape[0] != k || t.Shape[1] != rows)
            throw new GgufFormatException($"tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{k}, {rows}]");
        var format = FormatOf(t);
        byte* data = file.GetPointer(t);
        var kernels = KernelSelection.Select(format, k, isa, allowRepack, data, rows);
        if (!kernels.IsInterleaved && !(allowRepack && KernelRegistry.RepackEnabled))
            return new WeightMatrix(name, format, data, rows, k, kernels, null, PanelKernelsFor(format, k, isa, kernels));
        // Rows in the file's layout are copied too: streamed from the file's mapping they measured 20-30% slower than
        // from the process's own memory (F16 TinyLlama generation, one thread, AMD EPYC: 10.3 against 12.6 tokens/s;
        // llama.cpp 11.3 against 13.8 with -lm none), and then the file's pages are released as for a repacked matrix.
        var repacked = kernels.IsInterleaved ? Repack(data, format.RowBytes(k), rows, k, kernels) : Copy(data, rows * format.RowBytes(k));
        if (releaseFile)
            file.Release(t);
        return new WeightMatrix(name, format, repacked.Pointer, rows, k, kernels, repacked, PanelKernelsFor(format, k, isa, kernels));
    }

    private static AlignedBuffer Copy(byte* src, long bytes)
    {
        const long Chunk = 4 << 20;
        var buffer = new AlignedBuffer(bytes, clear: false, hugePages: true);
        byte* dst = buffer.Pointer;
        Parallel.For(0, (bytes + Chunk - 1) / Chunk, c =>
        {
            long at = c * Chunk, n = Math.Min(Chunk, bytes - at);
            Buffer.MemoryCopy(src + at, dst + at, n, n);
        });
        return buffer;
    }

    /// <summary>
    /// The F32 kernels for the rows of F16 <paramref name="kernels"/> widened value by value (<see cref="WidenPanel"/>):
    /// in the same layout (the file's, or groups of 4 stepped rows on AVX2), or in smaller groups of
    /// <see cref="RowSteps"/> at the same values per step (the AVX-512 path's F16 groups of 4 rows, widened into the F32
    /// row pairs of its 512-bit prompt kernel).
    /// </summary>
    private static KernelEntry? PanelKernelsFor(WeightFormat format, int k, KernelIsa isa, KernelEntry kernels)
    {
        if (format.Type != GgmlType.F16 || kernels.Isa == KernelIsa.Reference)
            return null;
        var f32 = KernelRegistry.Find(GgmlType.F32, isa, k, allowRepack: kernels.IsInterleaved);
        // The F32 kernels read the F16 kernels' activations (floats rounded to half, maybe scaled) as their own.
        if (f32 is null || f32.Activations.RowBytes(k) != kernels.Activations.RowBytes(k))
            return null;
        return kernels.Rows % f32.Rows == 0 && f32.ValuesPerStep == kernels.ValuesPerStep ? f32 : null;
    }

    /// <summary>Whether the kernels' activations are scaled by 2^112 (<see cref="F16ScaledActivation"/>).</summary>
    private static bool IsScaled(KernelEntry kernels) => ReferenceEquals(kernels.Activations, Formats.ActivationOf<F16ScaledActivation>());

    /// <summary>
    /// F16 rows [<paramref name="first"/>, first + <paramref name="count"/>) widened to floats into
    /// <paramref name="panel"/> in <see cref="PanelKernels"/>' layout: exactly, or, when the kernels' activations are
    /// scaled by 2^112, without rebias, so the F32 kernels form the same products. <paramref name="first"/> is the
    /// first row of a group; a last group of fewer rows is widened whole (its missing rows are zeros in the repacked
    /// matrix).
    /// </summary>
    public void WidenPanel(int first, int count, float* panel)
    {
        var halves = (ushort*)(Data + first * RowBytes);
        int group = Kernels.Rows;
        if (PanelKernels!.Rows != group)
            HalfVectors.ToSingleRegrouped(halves, panel, (count + group - 1) / group, group, PanelKernels.Rows, K, Kernels.ValuesPerStep, withoutRebias: IsScaled(Kernels));
        else if (IsScaled(Kernels))
            HalfVectors.ToSingleWithoutRebias(halves, panel, (long)((count + group - 1) / group * group) * K);
        else
            HalfVectors.ToSingle(halves, panel, (long)((count + group - 1) / group * group) * K);
    }

    private static AlignedBuffer Repack(byte* src, long rowBytes, int rows, int k, KernelEntry kernels)
    {
        int group = kernels.Rows, groups = (rows + group - 1) / group;
        var buffer = new AlignedBuffer(groups * group * rowBytes, clear: false, hugePages: true);
        byte* dst = buffer.Pointer;
        var repack = kernels.Repack;
        Parallel.For(0, groups, g =>
        {
            int first = g * group;
            repack(src + first * rowBytes, (nint)rowBytes, Math.Min(group, rows - first), k, dst + first * rowBytes);
        });
        return buffer;
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

    public void Dispose() => _repacked?.Dispose();
}
