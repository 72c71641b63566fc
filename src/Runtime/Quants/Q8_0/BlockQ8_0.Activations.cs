using System.Runtime.Intrinsics;

namespace LlamaAot.Quants;

// Q8_0 activation quantization, vectorized: the same float operations as QuantizeActivationsReference lane by lane
// (max of |x|, the multiplier 127 / amax, x * multiplier, round half to even), so the bytes are identical.
public unsafe partial struct BlockQ8_0
{
    /// <summary>Quantizes activations exactly as <see cref="QuantizeActivationsReference"/>, 32 lanes at a time.</summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<BlockQ8_0> blocks)
    {
        fixed (float* source = x)
        fixed (BlockQ8_0* destination = blocks)
        {
            for (int i = 0; i < blocks.Length; i++)
                QuantizeBlock(source + i * BlockSize, destination + i);
        }
    }

    /// <summary>One block; also used by the activation formats derived from Q8_0.</summary>
    internal static void QuantizeBlock(float* x, BlockQ8_0* block, out float scale, out int sum)
    {
        QuantizeBlock(x, block);
        scale = Fp16.HalfBitsToSingle(block->D);
        var q0 = Vector256.Load(block->Qs);
        var (a, b) = Vector256.Widen(q0);
        var s = a + b;
        var (c, d) = Vector256.Widen(s);
        sum = Vector256.Sum(c + d);
    }

    private static void QuantizeBlock(float* x, BlockQ8_0* block)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            QuantizeActivationsReference(new ReadOnlySpan<float>(x, BlockSize), new Span<BlockQ8_0>(block, 1));
            return;
        }
        var v0 = Vector256.Load(x);
        var v1 = Vector256.Load(x + 8);
        var v2 = Vector256.Load(x + 16);
        var v3 = Vector256.Load(x + 24);
        var max = Vector256.Max(Vector256.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Vector256.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
        var half = Vector128.Max(max.GetLower(), max.GetUpper());
        float amax = MathF.Max(MathF.Max(half[0], half[1]), MathF.Max(half[2], half[3]));
        float d = amax / 127f;
        float id = amax != 0 ? 127f / amax : 0;
        block->D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(d));
        var m = Vector256.Create(id);
        var i0 = Vector256.ConvertToInt32(Vector256.Round(v0 * m));
        var i1 = Vector256.ConvertToInt32(Vector256.Round(v1 * m));
        var i2 = Vector256.ConvertToInt32(Vector256.Round(v2 * m));
        var i3 = Vector256.ConvertToInt32(Vector256.Round(v3 * m));
        // |q| <= 127, so narrowing truncation is exact.
        var s01 = Vector256.Narrow(i0, i1);
        var s23 = Vector256.Narrow(i2, i3);
        Vector256.Narrow(s01, s23).Store(block->Qs);
    }
}
