using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// A weight format seen through byte spans, for code that picks the format at run time (model loading, the
/// reference kernels, tests). Everything here is derived from the block struct's declaration.
/// </summary>
public abstract class WeightFormat
{
    public abstract GgmlType Type { get; }

    /// <summary>Values per block.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Bytes per block.</summary>
    public abstract int BlockBytes { get; }

    /// <summary>The format activations are converted to before they meet these weights.</summary>
    public abstract ActivationFormat Activations { get; }

    /// <summary>The scalar reference kernels of this format (<see cref="Kernels.KernelIsa.Reference"/>).</summary>
    internal abstract Kernels.KernelEntry ReferenceKernels { get; }

    /// <summary>Bytes of a row of <paramref name="k"/> values (a multiple of <see cref="BlockSize"/>).</summary>
    public long RowBytes(long k) => k / BlockSize * BlockBytes;

    public abstract void Dequantize(ReadOnlySpan<byte> row, Span<float> y);

    public abstract void Quantize(ReadOnlySpan<float> x, Span<byte> row);

    /// <summary><see cref="Dequantize"/>, bit for bit, through the format's SIMD twin where it has one.</summary>
    public abstract void DequantizeFast(ReadOnlySpan<byte> row, Span<float> y);

    /// <summary><see cref="Quantize"/>, byte for byte, through the format's SIMD twin where it has one.</summary>
    public abstract void QuantizeFast(ReadOnlySpan<float> x, Span<byte> row);

    /// <summary>The scalar reference dot product of a weight row and an activation row.</summary>
    public abstract float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> x);

    /// <summary>Whether no weight in the <paramref name="bytes"/> at <paramref name="data"/> is Inf or NaN.</summary>
    internal abstract unsafe bool AllFinite(byte* data, long bytes);

    public override string ToString() => Type.ToString();
}

/// <summary>An activation format seen through byte spans.</summary>
public abstract class ActivationFormat
{
    /// <summary>A short name for traces and kernel names (e.g. "Q8_0", "F16").</summary>
    public abstract string Name { get; }

    public abstract int BlockSize { get; }

    public abstract int BlockBytes { get; }

    /// <summary>Bytes of an activation row of <paramref name="k"/> values.</summary>
    public int RowBytes(int k) => k / BlockSize * BlockBytes;

    public abstract void Quantize(ReadOnlySpan<float> x, Span<byte> row);

    public override string ToString() => Name;
}

internal sealed class WeightFormat<TW, TA> : WeightFormat
    where TW : unmanaged, IWeightFormat<TW, TA>
    where TA : unmanaged, IActivationFormat<TA>
{
    public override GgmlType Type => TW.Type;
    public override int BlockSize => TW.ValuesPerBlock;
    public override int BlockBytes => Unsafe.SizeOf<TW>();
    public override ActivationFormat Activations { get; } = Formats.ActivationOf<TA>();
    internal override Kernels.KernelEntry ReferenceKernels { get; } = Kernels.ReferenceKernels.EntryFor<TW, TA>();

    public override void Dequantize(ReadOnlySpan<byte> row, Span<float> y) => TW.Dequantize(MemoryMarshal.Cast<byte, TW>(row), y);

    public override void Quantize(ReadOnlySpan<float> x, Span<byte> row) => TW.Quantize(x, MemoryMarshal.Cast<byte, TW>(row));

    public override void DequantizeFast(ReadOnlySpan<byte> row, Span<float> y) => TW.DequantizeFast(MemoryMarshal.Cast<byte, TW>(row), y);

    public override void QuantizeFast(ReadOnlySpan<float> x, Span<byte> row) => TW.QuantizeFast(x, MemoryMarshal.Cast<byte, TW>(row));

    public override float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> x) =>
        TW.Dot(MemoryMarshal.Cast<byte, TW>(w), MemoryMarshal.Cast<byte, TA>(x));

    internal override unsafe bool AllFinite(byte* data, long bytes) => TW.AllFinite((TW*)data, bytes / Unsafe.SizeOf<TW>());
}

internal sealed class ActivationFormat<TA>(string name) : ActivationFormat where TA : unmanaged, IActivationFormat<TA>
{
    public override string Name => name;
    public override int BlockSize => TA.ValuesPerBlock;
    public override int BlockBytes => Unsafe.SizeOf<TA>();

    public override void Quantize(ReadOnlySpan<float> x, Span<byte> row) =>
        TA.QuantizeActivations(x, MemoryMarshal.Cast<byte, TA>(row));
}

/// <summary>
/// The formats llama-aot computes with: one line each. Adding a format is adding its folder and its line here.
/// </summary>
public static class Formats
{
    private static readonly Dictionary<Type, ActivationFormat> ActivationTable = new()
    {
        [typeof(BlockF32)] = new ActivationFormat<BlockF32>("F32"),
        [typeof(F16Activation)] = new ActivationFormat<F16Activation>("F16"),
        [typeof(F16ScaledActivation)] = new ActivationFormat<F16ScaledActivation>("F16Scaled"),
        [typeof(BF16Activation)] = new ActivationFormat<BF16Activation>("BF16"),
        [typeof(BlockQ8_0)] = new ActivationFormat<BlockQ8_0>("Q8_0"),
        [typeof(BlockQ8_0S)] = new ActivationFormat<BlockQ8_0S>("Q8_0S"),
        [typeof(BlockQ8_1)] = new ActivationFormat<BlockQ8_1>("Q8_1"),
        [typeof(BlockQ8_K)] = new ActivationFormat<BlockQ8_K>("Q8_K"),
    };

    private static readonly Dictionary<GgmlType, WeightFormat> WeightTable = new WeightFormat[]
    {
        new WeightFormat<BlockF32, BlockF32>(),
        new WeightFormat<BlockF16, F16Activation>(),
        new WeightFormat<BlockBF16, BF16Activation>(),
        new WeightFormat<BlockQ8_0, BlockQ8_0>(),
        new WeightFormat<BlockQ4_0, BlockQ8_0>(),
        new WeightFormat<BlockIQ4_NL, BlockQ8_0>(),
        new WeightFormat<BlockIQ4_XS, BlockQ8_K>(),
        new WeightFormat<BlockQ4_K, BlockQ8_K>(),
        new WeightFormat<BlockQ5_K, BlockQ8_K>(),
        new WeightFormat<BlockQ6_K, BlockQ8_K>(),
        new WeightFormat<BlockQ2_K, BlockQ8_K>(),
        new WeightFormat<BlockQ3_K, BlockQ8_K>(),
        new WeightFormat<BlockQ4_1, BlockQ8_1>(),
        new WeightFormat<BlockQ5_0, BlockQ8_0>(),
        new WeightFormat<BlockQ5_1, BlockQ8_1>(),
    }.ToDictionary(f => f.Type);

    /// <summary>Every weight format this build computes with.</summary>
    public static IEnumerable<WeightFormat> All => WeightTable.Values;

    /// <summary>The format of <paramref name="type"/>, or null when llama-aot cannot compute with it.</summary>
    public static WeightFormat? Find(GgmlType type) => WeightTable.GetValueOrDefault(type);

    /// <summary>The format of <paramref name="type"/>; a clear error when llama-aot cannot compute with it.</summary>
    public static WeightFormat Get(GgmlType type) =>
        Find(type) ?? throw new NotSupportedException(
            $"tensor type {type} is not supported by this build of llama-aot (supported: {string.Join(", ", WeightTable.Keys.Order())})");

    internal static ActivationFormat ActivationOf<TA>() where TA : unmanaged, IActivationFormat<TA> => ActivationTable[typeof(TA)];
}
