using System.Runtime.Intrinsics;
using LlamaAot.Kernels;
using LlamaAot.Model.Ops;

namespace LlamaAot.Tests.Kernels;

/// <summary>
/// ggml's vector expf and the SwiGLU built on it against llama.cpp 0.5.0 itself: the expected bits below were printed by
/// ggml_v_expf (the __m256 form in ggml-cpu's vec.h, compiled with -mavx2 -mfma from /work/llama-ref/llama.cpp, as the
/// AVX2 build that made ../shared/reference/arch runs it) and by llama.cpp's own SwiGLU (read through its eval
/// callback), bit for bit.
/// </summary>
[Trait("Category", "Isa")]
public sealed unsafe class GgmlExpFTests
{
    [Theory]
    [InlineData(0xBFE59100u, 0x3E2A5F3Cu)] // e^-1.79348755 (the AVX-512 form: 0x3E2A5F3D)
    [InlineData(0x00000000u, 0x3F800000u)] // e^0 = 1
    [InlineData(0x3F800000u, 0x402DF855u)] // e^1
    [InlineData(0xBF800000u, 0x3EBC5AB2u)] // e^-1 (the AVX-512 form: 0x3EBC5AB3)
    [InlineData(0xBEB17218u, 0x3F3504F2u)] // e^-0.346573591
    [InlineData(0x41200000u, 0x46AC14F0u)] // e^10
    [InlineData(0x42B00000u, 0x7EF882B7u)] // e^88
    [InlineData(0x42B16666u, 0x7F7A37FCu)] // e^88.7, just below the float maximum (n = 128: the split scaling)
    [InlineData(0x42B20000u, 0x7F800000u)] // e^89 = infinity (past the exponent range, within 192)
    [InlineData(0x42C80000u, 0x7F800000u)] // e^100 = infinity (|n| > 192)
    [InlineData(0xC2AF0000u, 0x006CB2BBu)] // e^-87.5, the smallest normal range (the AVX-512 form: 0x006CB2BC)
    [InlineData(0xC2B00000u, 0x0041EDC4u)] // e^-88 (n = -127: the split scaling)
    [InlineData(0xC2B20000u, 0x001840FCu)] // e^-89, subnormal
    [InlineData(0xC2BE0000u, 0x00000F64u)] // e^-95, subnormal
    [InlineData(0xC2C80000u, 0x0000001Bu)] // e^-100, subnormal
    [InlineData(0xC2CFCCCDu, 0x00000001u)] // e^-103.9, the smallest subnormal
    [InlineData(0xC2D00000u, 0x00000000u)] // e^-104 = 0
    [InlineData(0xC3480000u, 0x00000000u)] // e^-200 = 0 (|n| > 192)
    [InlineData(0xFF800000u, 0x00000000u)] // e^-inf = 0
    [InlineData(0x3E800000u, 0x3FA45AF2u)] // e^0.25 (the AVX-512 form: 0x3FA45AF3)
    [InlineData(0xC0200000u, 0x3DA81C2Fu)] // e^-2.5
    [InlineData(0x40E00000u, 0x44891442u)] // e^7
    [InlineData(0xC1500000u, 0x3617B029u)] // e^-13
    [InlineData(0x42340000u, 0x5FF267BBu)] // e^45 (the AVX-512 form: 0x5FF267BC)
    [InlineData(0xC2700000u, 0x142D70CAu)] // e^-60
    [InlineData(0x3F317218u, 0x40000000u)] // e^ln 2 = 2
    public void MatchesGgmlBitForBit(uint x, uint expected)
    {
        float v = BitConverter.UInt32BitsToSingle(x);
        Assert.Equal(expected, BitConverter.SingleToUInt32Bits(GgmlExpF.Reference(v)));
        Assert.Equal(expected, BitConverter.SingleToUInt32Bits(GgmlExpF.Exp(Vector256.Create(v)).GetElement(3)));
    }

    /// <summary>The vector form against its scalar definition, over the whole range where e^x is neither 0 nor infinite and past it.</summary>
    [Fact]
    public void VectorMatchesReferenceBitForBit()
    {
        var random = new Random(10);
        var x = new float[1 << 16];
        for (int i = 0; i < x.Length; i++)
            x[i] = i % 8 == 0 ? (float)(random.NextDouble() * 440 - 220) : (float)(random.NextDouble() * 200 - 105);
        x[0] = float.NaN;
        x[1] = float.PositiveInfinity;
        x[2] = float.NegativeInfinity;
        x[3] = -0f;
        for (int i = 0; i < x.Length; i += 8)
        {
            var e = GgmlExpF.Exp(Vector256.Create(x, i));
            for (int k = 0; k < 8; k++)
                Assert.True(GgmlExpF.Reference(x[i + k]).Equals(e[k]), $"e^{x[i + k]:R}: vector {e[k]:R}, reference {GgmlExpF.Reference(x[i + k]):R}");
        }
    }

    /// <summary>
    /// llama.cpp's SwiGLU of qwen3-Q8_0 layer 0, prompt "ball", token 33, value 204: gate 1.79348755, up -0.810318232
    /// give 0xBF9F7C93 (x 127 / amax = -74.4999924 when Q8_0-quantized for ffn_down); with the C library's expf it
    /// is 0xBF9F7C95, which rounds to -75 instead of -74 and moved every later logit by up to 0.095.
    /// </summary>
    [Fact]
    public void SwiGluRoundsAsLlamaCpp()
    {
        float* gate = stackalloc float[SwiGlu.GgmlGroup], up = stackalloc float[SwiGlu.GgmlGroup];
        for (int i = 0; i < SwiGlu.GgmlGroup; i++)
        {
            gate[i] = BitConverter.UInt32BitsToSingle(0x3FE59100u);
            up[i] = BitConverter.UInt32BitsToSingle(0xBF4F7104u);
        }
        SwiGlu.Row(gate, up, SwiGlu.GgmlGroup);
        Assert.Equal(0xBF9F7C93u, BitConverter.SingleToUInt32Bits(gate[5]));
    }

    /// <summary>Whole groups of 8 take ggml's vector expf, the rest the C library's (ggml_vec_swiglu_f32's scalar tail).</summary>
    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(172)]
    public void SwiGluTakesGgmlsExpOnWholeGroupsOnly(int n)
    {
        var random = new Random(n);
        float[] gate = new float[n], up = new float[n], expected = new float[n];
        for (int i = 0; i < n; i++)
        {
            gate[i] = (float)(random.NextDouble() * 8 - 4);
            up[i] = (float)(random.NextDouble() * 2 - 1);
            float e = i < n / SwiGlu.GgmlGroup * SwiGlu.GgmlGroup ? GgmlExpF.Reference(-gate[i]) : MathF.Exp(-gate[i]);
            expected[i] = gate[i] / (1f + e) * up[i];
        }
        fixed (float* g = gate, u = up)
            SwiGlu.Row(g, u, n);
        Assert.Equal(expected, gate);
    }
}
