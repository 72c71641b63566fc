using LlamaAot.Gguf;
using LlamaAot.Quants;

namespace LlamaAot.Tests.Quants;

public class Q3_KTests
{
    [Theory]
    [InlineData("Q2_K", 6)]   // attn_v, attn_output and ffn_down of both layers
    [InlineData("Q3_K_M", 9)] // token_embd, attn_q/k, ffn_gate/up
    public void QuantizeMatchesLlamaQuantizeByteForByte(string file, int tensors)
    {
        Assert.Equal(tensors, LlamaQuantizeFiles.AssertMatches(GgmlType.Q3_K, file));
    }

    [Fact]
    public unsafe void DequantizeReadsGgmlsLayout()
    {
        // Signed scales (stored + 32): s0 = 1, s1 = -32, s5 = 5, s8 = 31, s15 = -1, every other 0.
        var b = new BlockQ3_K { D = 0x3800 }; // 0.5
        byte[] scales = [0xF1, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0xF0, 0xBA, 0xA8, 0xAA, 0x6A];
        for (int i = 0; i < 12; i++)
            b.Scales[i] = scales[i];
        b.Qs[0] = 0x0B;     // low bits of values 0 (3) and 32 (2)
        b.Qs[16] = 0x21;    // values 16 (1) and 80 (2)
        b.Qs[32] = 0x02;    // value 128 (2)
        b.Qs[63] = 0x40;    // value 255 (1)
        b.HMask[0] = 0x11;  // high bits of values 0 (bit 0) and 128 (bit 4)
        b.HMask[16] = 0x04; // value 80 (bit 2)
        var y = new float[256];
        BlockQ3_K.Dequantize([b], y);

        Assert.Equal(0.5f * 1 * 3, y[0]);        // high bit set: q = low
        Assert.Equal(0.5f * 1 * -4, y[1]);       // no high bit: q = 0 - 4
        Assert.Equal(0.5f * -32 * -3, y[16]);
        Assert.Equal(0f, y[32]);                 // sub-block 2 has scale 0
        Assert.Equal(0.5f * 5 * 2, y[80]);
        Assert.Equal(0.5f * 31 * 2, y[128]);
        Assert.Equal(0.5f * -1 * -4, y[240]);
        Assert.Equal(0.5f * -1 * -3, y[255]);
    }

    [Fact]
    public void DotMatchesDequantizedProducts()
    {
        LlamaQuantizeFiles.AssertDotMatchesDequantized(GgmlType.Q3_K, blocks: 12, seed: 3);
    }
}
