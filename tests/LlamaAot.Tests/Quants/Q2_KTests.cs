using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public class Q2_KTests
{
    [Fact]
    public void QuantizeMatchesLlamaQuantizeByteForByte()
    {
        // random-e256-l2-Q2_K.gguf holds token_embd, attn_q/k and ffn_gate/up of both layers as Q2_K.
        Assert.Equal(9, LlamaQuantizeFiles.AssertMatches(GgmlType.Q2_K, "Q2_K"));
    }

    [Fact]
    public unsafe void DequantizeReadsGgmlsLayout()
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
        Assert.Equal(1f * 2 - 1.25f, y[255]);
        Assert.Equal(1f * 0 - 1.25f, y[240]); // q 0 in sub-block 15
    }

    [Fact]
    public void DotMatchesDequantizedProducts()
    {
        LlamaQuantizeFiles.AssertDotMatchesDequantized(GgmlType.Q2_K, blocks: 12, seed: 2);
    }
}
