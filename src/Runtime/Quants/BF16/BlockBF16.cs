using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// BF16: the top 16 bits of an IEEE single per "block" (8-bit exponent, 7-bit mantissa). 16 bits per weight.
/// Pairs with <see cref="BF16Activation"/>.
/// </summary>
[QuantFormat(GgmlType.BF16)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockBF16 : IWeightFormat<BlockBF16, BF16Activation>
{
    public const int BlockSize = 1;

    public ushort Bits;

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.BF16;

    public static void Dequantize(ReadOnlySpan<BlockBF16> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
            y[i] = Fp16.BFloat16BitsToSingle(blocks[i].Bits);
    }

    public static void Quantize(ReadOnlySpan<float> x, Span<BlockBF16> blocks)
    {
        for (int i = 0; i < x.Length; i++)
            blocks[i].Bits = Fp16.ToBFloat16Bits(x[i]);
    }

    /// <summary>ggml_vec_dot_bf16: bfloat16 products (exact in float) summed in float.</summary>
    public static float Dot(ReadOnlySpan<BlockBF16> w, ReadOnlySpan<BF16Activation> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
            sum += Fp16.BFloat16BitsToSingle(w[i].Bits) * x[i].Value;
        return sum;
    }
}

/// <summary>
/// The activations of a BF16 product: llama.cpp rounds them to bfloat16 first. Stored as the rounded float.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BF16Activation : IActivationFormat<BF16Activation>
{
    public const int BlockSize = 1;

    /// <summary>A float whose low 16 bits are zero.</summary>
    public float Value;

    public static int ValuesPerBlock => BlockSize;

    /// <summary>ggml_fp32_to_bf16_row: round to nearest even.</summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<BF16Activation> blocks)
    {
        for (int i = 0; i < x.Length; i++)
            blocks[i].Value = Fp16.BFloat16BitsToSingle(Fp16.ToBFloat16Bits(x[i]));
    }
}
