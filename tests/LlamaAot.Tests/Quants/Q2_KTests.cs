using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public unsafe class Q2_KTests
{
    /// <summary>random-e256-l2-Q2_K.gguf holds token_embd, attn_q/k and ffn_gate/up of both layers as Q2_K.</summary>
    [Fact]
    public void QuantizesLikeLlamaCpp() =>
        Assert.Equal(9, KQuantTestData.AssertQuantizesLikeLlamaCpp("Q2_K", GgmlType.Q2_K).Count);

    [Fact]
    public void DequantizesACraftedBlock()
    {
        var b = new BlockQ2_K
        {
            D = 0x3800,    // 0.5
            DMin = 0x3400, // 0.25
        };
        b.Scales[0] = 0x21;  // scale 1, min 2:  dl 0.5, ml 0.5
        b.Scales[1] = 0xF3;  // scale 3, min 15: dl 1.5, ml 3.75
        b.Scales[2] = 0x12;  // scale 2, min 1:  dl 1,   ml 0.25
        b.Scales[4] = 0x34;  // scale 4, min 3:  dl 2,   ml 0.75
        b.Scales[8] = 0x0F;  // scale 15, min 0: dl 7.5, ml 0
        b.Scales[15] = 0x52; // scale 2, min 5:  dl 1,   ml 1.25
        b.Qs[0] = 0xE4;  // values 0, 32, 64, 96 (2 bits each from the bottom): q = 0, 1, 2, 3
        b.Qs[16] = 0x1B; // values 16, 48, 80, 112: q = 3, 2, 1, 0
        b.Qs[32] = 0xFF; // values 128, 160, 192, 224: q = 3
        b.Qs[63] = 0x80; // values 159, 191, 223, 255: q = 0, 0, 0, 2
        var y = new float[256];
        BlockQ2_K.Dequantize([b], y);

        Assert.Equal(0.5f * 0 - 0.5f, y[0]);
        Assert.Equal(-0.5f, y[1]);            // q 0 in sub-block 0
        Assert.Equal(1.5f * 3 - 3.75f, y[16]);
        Assert.Equal(1f * 1 - 0.25f, y[32]);
        Assert.Equal(0f, y[48]);              // sub-block 3: scale and min 0
        Assert.Equal(2f * 2 - 0.75f, y[64]);
        Assert.Equal(0f, y[96]);
        Assert.Equal(7.5f * 3, y[128]);
        Assert.Equal(0f, y[159]);
        Assert.Equal(1f * 0 - 1.25f, y[240]); // q 0 in sub-block 15
        Assert.Equal(1f * 2 - 1.25f, y[255]);
    }

    [Fact]
    public void DequantizesLlamaCppBytesCloseToTheF32Weights()
    {
        // Requantization rounds (x + ml) / dl to the nearest of 0..3, so a value is within half a step dl of its
        // weight unless the clamp cut it off: then the weight lies beyond the end of the grid (below q = 0 or above 3).
        using var source = GgufFile.Open(KQuantTestData.RandomE256("F32"));
        using var quantized = GgufFile.Open(KQuantTestData.RandomE256("Q2_K"));
        var tensor = quantized.FindTensor("token_embd.weight")!;
        var expected = MemoryMarshal.Cast<byte, float>(source.GetData(source.FindTensor("token_embd.weight")!));
        var blocks = MemoryMarshal.Cast<byte, BlockQ2_K>(quantized.GetData(tensor));
        var y = new float[expected.Length];
        BlockQ2_K.Dequantize(blocks, y);
        int checkedValues = 0;
        for (int i = 0; i < y.Length; i++)
        {
            var b = blocks[i / 256];
            int sc = b.Scales[i % 256 / 16];
            float dl = Fp16.HalfBitsToSingle(b.D) * (sc & 0xF), ml = Fp16.HalfBitsToSingle(b.DMin) * (sc >> 4);
            if (dl == 0)
                continue; // no scale: the quantizer keeps its search's quants and every value is -ml
            int q = (int)MathF.Round((y[i] + ml) / dl);
            float error = expected[i] - y[i];
            bool beyondGrid = (q == 0 && error < 0) || (q == 3 && error > 0);
            Assert.True(beyondGrid || Math.Abs(error) <= 0.5f * dl * 1.0001f + 1e-9f, $"value {i}: {y[i]} (q {q}) vs {expected[i]} (step {dl})");
            checkedValues++;
        }
        Assert.True(checkedValues > 0.99 * y.Length, $"only {checkedValues} of {y.Length} values have a scale");
    }

    [Fact]
    public void DotMatchesDequantizedProduct() => KQuantTestData.AssertDotMatchesDequantized(GgmlType.Q2_K, 2);

    /// <summary>
    /// A Q2_K block whose integer dot products stay exact in float whatever the order (for the kernel tests): random
    /// quants, scales and mins (every bit pattern is a valid block) with d = dmin = 1. With |x| &lt;= 15 and one 127
    /// per block, sum |scale * q * x| + sum |min * x| &lt;= 60 * (255 * 15 + 127) per block, so a row of up to 56
    /// blocks stays below 2^24 in absolute value.
    /// </summary>
    internal static void ExactBlock(Random random, Span<byte> bytes)
    {
        random.NextBytes(bytes);
        ref var b = ref MemoryMarshal.AsRef<BlockQ2_K>(bytes);
        b.D = 0x3C00;
        b.DMin = 0x3C00;
    }
}
