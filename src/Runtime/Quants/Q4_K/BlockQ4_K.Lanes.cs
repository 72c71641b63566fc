namespace LlamaAot.Quants;

// Q4_K's quantizer with the 8 sub-blocks of a super-block in vector lanes (KQuantScaleMinLanes): the bytes of the
// scalar reference (Quantize in BlockQ4_K.Reference.cs) for every input, several times faster.
public unsafe partial struct BlockQ4_K
{
    /// <summary><see cref="Quantize"/>, byte for byte, through <see cref="KQuantScaleMinLanes"/>.</summary>
    public static void QuantizeFast(ReadOnlySpan<float> x, Span<BlockQ4_K> blocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, blocks.Length * BlockSize, nameof(x));
        byte* l = stackalloc byte[BlockSize];
        fixed (float* source = x)
        fixed (BlockQ4_K* target = blocks)
        {
            for (int i = 0; i < blocks.Length; i++)
            {
                var b = target + i;
                KQuantScaleMinLanes.QuantizeSuperBlock(source + i * BlockSize, Nmax, RMin, RDelta, NStep, l, b->Scales, out b->D, out b->DMin);
                b->Pack(new ReadOnlySpan<byte>(l, BlockSize));
            }
        }
    }
}
