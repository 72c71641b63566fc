using System.Runtime.InteropServices;
using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// F32: one IEEE single per "block". 32 bits per weight. It is also the activation format of F32 weights
/// (ggml multiplies F32 by F32 unrounded).
/// </summary>
[QuantFormat(GgmlType.F32)]
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockF32 : IWeightFormat<BlockF32, BlockF32>, IActivationFormat<BlockF32>
{
    public const int BlockSize = 1;

    public float Value;

    public static int ValuesPerBlock => BlockSize;

    public static GgmlType Type => GgmlType.F32;

    public static void Dequantize(ReadOnlySpan<BlockF32> blocks, Span<float> y) =>
        MemoryMarshal.Cast<BlockF32, float>(blocks).CopyTo(y);

    public static void Quantize(ReadOnlySpan<float> x, Span<BlockF32> blocks) =>
        x.CopyTo(MemoryMarshal.Cast<BlockF32, float>(blocks));

    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<BlockF32> blocks) => Quantize(x, blocks);

    /// <summary>ggml_vec_dot_f32: a float sum of float products.</summary>
    public static float Dot(ReadOnlySpan<BlockF32> w, ReadOnlySpan<BlockF32> x)
    {
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
            sum += w[i].Value * x[i].Value;
        return sum;
    }
}
