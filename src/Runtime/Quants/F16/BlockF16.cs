using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>F16: one IEEE half per "block". 16 bits per weight. Pairs with <see cref="F16Activation"/>.</summary>
[QuantFormat(GgmlType.F16)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockF16 : IWeightFormat<BlockF16, F16Activation>
{
    public const int BlockSize = 1;

    public ushort Bits;

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.F16;

    public static void Dequantize(ReadOnlySpan<BlockF16> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
            y[i] = Fp16.HalfBitsToSingle(blocks[i].Bits);
    }

    /// <summary><see cref="Dequantize"/>, bit for bit, 16 or 4 halves at a time (<see cref="HalfVectors.ToSingle(ushort*, float*, long)"/>).</summary>
    public static unsafe void DequantizeFast(ReadOnlySpan<BlockF16> blocks, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(y.Length, blocks.Length, nameof(y));
        fixed (BlockF16* h = blocks)
        fixed (float* target = y)
            HalfVectors.ToSingle((ushort*)h, target, blocks.Length);
    }

    public static void Quantize(ReadOnlySpan<float> x, Span<BlockF16> blocks)
    {
        for (int i = 0; i < x.Length; i++)
            blocks[i].Bits = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(x[i]));
    }

    /// <summary>No half with the all-ones exponent (<see cref="HalfVectors.AllFinite"/>).</summary>
    public static unsafe bool AllFinite(BlockF16* blocks, long count) => HalfVectors.AllFinite((ushort*)blocks, count);

    /// <summary>ggml_vec_dot_f16: half products (exact in float) summed in float.</summary>
    public static float Dot(ReadOnlySpan<BlockF16> w, ReadOnlySpan<F16Activation> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
            sum += Fp16.HalfBitsToSingle(w[i].Bits) * x[i].Value;
        return sum;
    }
}

/// <summary>
/// The activations of an F16 product: llama.cpp rounds them to half before multiplying. Stored as the rounded
/// float (every half is exactly a float), so kernels skip a conversion on the activation side.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct F16Activation : IActivationFormat<F16Activation>
{
    public const int BlockSize = 1;

    /// <summary>A float that is exactly representable as a half.</summary>
    public float Value;

    public static int ValuesPerBlock => BlockSize;

    /// <summary>ggml_fp32_to_fp16_row: round to nearest even.</summary>
    public static unsafe void QuantizeActivations(ReadOnlySpan<float> x, Span<F16Activation> blocks)
    {
        if (blocks.Length < x.Length)
            throw new ArgumentException($"{x.Length} values need {x.Length} activations, not {blocks.Length}", nameof(blocks));
        fixed (float* source = x)
        fixed (F16Activation* target = blocks)
            HalfVectors.RoundToHalf(source, (float*)target, x.Length);
    }
}

/// <summary>
/// The activations of the F16 kernels that widen weights without rebias (<see cref="HalfVectors.LoadWithoutRebias256"/>):
/// each value rounded to half as <see cref="F16Activation"/>, then multiplied by 2^112 (exact: a half is at most
/// 65504, times 2^112 still below float's largest), so that weight (value x 2^-112) times activation is the product
/// of the values, bit for bit.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct F16ScaledActivation : IActivationFormat<F16ScaledActivation>
{
    public const int BlockSize = 1;

    /// <summary>A float that is exactly representable as a half, times 2^112.</summary>
    public float Value;

    public static int ValuesPerBlock => BlockSize;

    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<F16ScaledActivation> blocks)
    {
        F16Activation.QuantizeActivations(x, MemoryMarshal.Cast<F16ScaledActivation, F16Activation>(blocks));
        var values = MemoryMarshal.Cast<F16ScaledActivation, float>(blocks)[..x.Length];
        int i = 0;
        for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
            (Vector256.Create((ReadOnlySpan<float>)values[i..]) * HalfVectors.TwoPow112).CopyTo(values[i..]);
        for (; i < values.Length; i++)
            values[i] *= HalfVectors.TwoPow112;
    }
}
