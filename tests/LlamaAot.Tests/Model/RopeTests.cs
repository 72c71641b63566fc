using LlamaAot.Model.Ops;

namespace LlamaAot.Tests.Model;

public class RopeTests
{
    /// <summary>
    /// Pairs rotated by llama.cpp 0.5.0's x86 (AVX2) build, taken from its intermediate tensors on models/arch's gemma3
    /// (layer 0's q after its norm, and after rope: NEOX layout, 128 dimensions, base 10000): position, pair, x0, x1 and
    /// the two rotated values, as float bits. Each is a pair where the unfused x0*cos - x1*sin and x0*sin + x1*cos
    /// both round differently: llama.cpp's compiler fuses one product of each into a multiply-add.
    /// </summary>
    [Theory]
    [InlineData(1, 2, 0xbfb8cf06, 0xbffbb1b1, 0x3e913ca5, 0xc01b11b7)]
    [InlineData(6, 26, 0xbe9bc2fd, 0x3d859dd8, 0xbe9eecac, 0x3cafaa85)]
    [InlineData(11, 17, 0xbf52ed34, 0x3fbb9ee9, 0xbfd604d9, 0x3e366af2)]
    [InlineData(16, 0, 0x3eaaf1c7, 0xbd3f0122, 0xbeaa9496, 0xbd52ce7b)]
    [InlineData(21, 12, 0xbeef12fa, 0xbf396608, 0xbc8dfb55, 0x3f5c8ca7)]
    public unsafe void RotatesAsLlamaCppsX86BuildRotates(int pos, int pair, uint x0, uint x1, uint y0, uint y1)
    {
        const int nRot = 128;
        var rope = new Rope(nRot, 10000, 1, neox: true);
        var cos = new float[nRot / 2];
        var sin = new float[nRot / 2];
        rope.Angles(pos, cos, sin);
        var head = new float[nRot];
        head[pair] = BitConverter.UInt32BitsToSingle(x0);
        head[pair + nRot / 2] = BitConverter.UInt32BitsToSingle(x1);
        fixed (float* p = head)
            rope.Apply(p, 1, nRot, cos, sin);
        Assert.Equal(y0, BitConverter.SingleToUInt32Bits(head[pair]));
        Assert.Equal(y1, BitConverter.SingleToUInt32Bits(head[pair + nRot / 2]));
    }
}
