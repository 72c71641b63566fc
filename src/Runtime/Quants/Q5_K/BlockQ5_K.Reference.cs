namespace LlamaAot.Quants;

// Scalar reference of Q5_K: the definition of correct for every Q5_K kernel.
public unsafe partial struct BlockQ5_K
{
    /// <summary>dequantize_row_q5_K: y = (d * scale) * q - (dmin * min).</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ5_K> blocks, Span<float> y)
    {
        Span<byte> q = stackalloc byte[BlockSize];
        for (int i = 0; i < blocks.Length; i++)
        {
            var b = blocks[i];
            b.Unpack(q);
            var packed = new ReadOnlySpan<byte>(b.Scales, KQuantScaleMin.Bytes);
            float d = Fp16.HalfBitsToSingle(b.D), dmin = Fp16.HalfBitsToSingle(b.DMin);
            for (int j = 0; j < 8; j++)
            {
                var (scale, min) = KQuantScaleMin.Get(j, packed);
                float dl = d * scale, ml = dmin * min;
                for (int e = 32 * j; e < 32 * j + 32; e++)
                    y[i * BlockSize + e] = dl * q[e] - ml;
            }
        }
    }

    /// <summary>
    /// quantize_row_q5_K_ref (what llama-quantize writes without an importance matrix):
    /// <see cref="KQuantScaleMin.QuantizeSuperBlock"/> with nmax 31 and make_qkx2_quants(rmin -0.5, rdelta 0.1,
    /// nstep 15), then the low 4 bits packed as in Q4_K and the fifth bits into qh.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ5_K> blocks) => Quantize(x, blocks, &KQuantScaleMin.QuantizeSuperBlock);

    /// <summary><see cref="Quantize"/>, byte for byte, with the sub-blocks in vector lanes (<see cref="KQuantScaleMinLanes"/>).</summary>
    public static void QuantizeFast(ReadOnlySpan<float> x, Span<BlockQ5_K> blocks) => Quantize(x, blocks, &KQuantScaleMinLanes.QuantizeSuperBlock);

    private static void Quantize(ReadOnlySpan<float> x, Span<BlockQ5_K> blocks,
        delegate*<ReadOnlySpan<float>, int, float, float, int, Span<byte>, Span<byte>, out ushort, out ushort, void> quantizeSuperBlock)
    {
        Span<byte> l = stackalloc byte[BlockSize];
        for (int i = 0; i < blocks.Length; i++)
        {
            ref var b = ref blocks[i];
            fixed (byte* scales = b.Scales)
                quantizeSuperBlock(x.Slice(i * BlockSize, BlockSize), Nmax, RMin, RDelta, NStep, l, new Span<byte>(scales, KQuantScaleMin.Bytes), out b.D, out b.DMin);
            b.Pack(l);
        }
    }

    /// <summary>
    /// ggml_vec_dot_q5_K_q8_K (scalar): per super-block <see cref="KQuantScaleMin.AccumulateSuperBlock"/>; the min
    /// terms are subtracted from the running sum block by block, then the 8 lanes are added to it.
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockQ5_K> w, ReadOnlySpan<BlockQ8_K> x)
    {
        Span<byte> q = stackalloc byte[BlockSize];
        Span<float> sums = stackalloc float[8];
        sums.Clear();
        float sum = 0;
        for (int i = 0; i < w.Length; i++)
        {
            var a = w[i];
            a.Unpack(q);
            sum -= KQuantScaleMin.AccumulateSuperBlock(q, new ReadOnlySpan<byte>(a.Scales, KQuantScaleMin.Bytes), a.D, a.DMin, x[i], sums);
        }
        foreach (float s in sums)
            sum += s;
        return sum;
    }

    // quantize_row_q5_K_ref's make_qkx2_quants arguments.
    private const int Nmax = 31, NStep = 15;
    private const float RMin = -0.5f, RDelta = 0.1f;

    /// <summary>The 256 quants (0..31) in value order: low 4 bits as in Q4_K, fifth bits into qh.</summary>
    private void Pack(ReadOnlySpan<byte> l)
    {
        for (int j = 0; j < 32; j++)
            Qh[j] = 0;
        for (int c = 0; c < 4; c++)
        {
            for (int j = 0; j < 32; j++)
            {
                int lo = l[64 * c + j], hi = l[64 * c + 32 + j];
                Qs[32 * c + j] = (byte)((lo & 0x0F) | (hi & 0x0F) << 4);
                Qh[j] |= (byte)((lo >> 4) << (2 * c) | (hi >> 4) << (2 * c + 1));
            }
        }
    }

    /// <summary>The 256 quants (0..31) in value order.</summary>
    private readonly void Unpack(Span<byte> q)
    {
        for (int c = 0; c < 4; c++)
        {
            for (int j = 0; j < 32; j++)
            {
                q[64 * c + j] = (byte)((Qs[32 * c + j] & 0x0F) | (Qh[j] >> (2 * c) & 1) << 4);
                q[64 * c + 32 + j] = (byte)((Qs[32 * c + j] >> 4) | (Qh[j] >> (2 * c + 1) & 1) << 4);
            }
        }
    }
}
