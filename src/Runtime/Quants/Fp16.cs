using System.Runtime.CompilerServices;

namespace LlamaAot.Quants;

/// <summary>Scalar half and bfloat16 conversions with ggml's rounding.</summary>
public static class Fp16
{
    private const float TwoPow112 = 5.192296858534828E+33f; // 2^112, exactly

    /// <summary>float to IEEE half, round to nearest even (ggml's GGML_FP32_TO_FP16 with F16C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Half ToHalf(float x) => (Half)x;

    /// <summary>IEEE half bits to float, exactly; branch-free for the hot paths.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfBitsToSingle(ushort h)
    {
        uint sign = (uint)(h & 0x8000) << 16;
        uint magnitude = (uint)(h & 0x7fff) << 13;
        // Scaling by 2^112 moves the exponent from bias 15 to bias 127 and normalizes subnormals exactly.
        uint bits = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(magnitude) * TwoPow112);
        // Infinity and NaN keep their all-ones exponent.
        if (magnitude >= 0x0f800000)
            bits = magnitude | 0x7f800000;
        return BitConverter.UInt32BitsToSingle(bits | sign);
    }

    /// <summary>float to bfloat16 bits, round to nearest even; NaN stays a quiet NaN (ggml_compute_fp32_to_bf16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ToBFloat16Bits(float x)
    {
        uint u = BitConverter.SingleToUInt32Bits(x);
        if ((u & 0x7fffffff) > 0x7f800000)
            return (ushort)((u >> 16) | 64);
        return (ushort)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    }

    /// <summary>bfloat16 bits to float (exact: bfloat16 is the top half of a float).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16BitsToSingle(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);
}
