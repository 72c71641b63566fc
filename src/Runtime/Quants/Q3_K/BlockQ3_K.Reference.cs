using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaAot.Quants;

// Scalar reference of Q3_K: the definition of correct for every Q3_K kernel.
public unsafe partial struct BlockQ3_K
{
    /// <summary>The signed scale (-32..31) of sub-block <paramref name="s"/> (0..15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Scale(in BlockQ3_K b, int s)
    {
        int low = s < 8 ? b.Scales[s] & 0xF : b.Scales[s - 8] >> 4;
        int high = (b.Scales[8 + s % 4] >> (2 * (s / 4))) & 3;
        return (low | (high << 4)) - 32;
    }

    /// <summary>The quant (-4..3) of value <paramref name="e"/> (0..255).</summary>
    private static int Quant(in BlockQ3_K b, int e)
    {
        int n = e / 128, j = e % 128 / 32, l = e % 32;
        int low = (b.Qs[32 * n + l] >> (2 * j)) & 3;
        bool high = ((b.HMask[l] >> (4 * n + j)) & 1) != 0;
        return high ? low : low - 4;
    }

    /// <summary>dequantize_row_q3_K: per sub-block dl = d * scale (a float), y = dl * q.</summary>
    public static void Dequantize(ReadOnlySpan<BlockQ3_K> blocks, Span<float> y)
    {
        for (int i = 0; i < blocks.Length; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = Fp16.HalfBitsToSingle(b.D);
            var dst = y.Slice(i * BlockSize, BlockSize);
            for (int s = 0; s < 16; s++)
            {
                float dl = d * Scale(b, s);
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    dst[e] = dl * Quant(b, e);
            }
        }
    }

    /// <summary>
    /// quantize_row_q3_K_ref (what llama-quantize writes without an importance matrix): per sub-block
    /// make_q3_quants(nmax 4) gives a signed scale; the scales are quantized to 6 bits against the one of largest
    /// magnitude (iscale = -32 / max_scale, d = 1 / iscale as a half); then every value is requantized with the
    /// half-rounded numbers, q = clamp(round(x / dq), -4, 3) (a sub-block whose dq is 0 keeps the quants of its
    /// search), and split into low bits and the high-bit mask.
    /// </summary>
    public static void Quantize(ReadOnlySpan<float> x, Span<BlockQ3_K> blocks)
    {
        Span<sbyte> L = stackalloc sbyte[BlockSize];
        Span<float> scales = stackalloc float[16];
        for (int i = 0; i < blocks.Length; i++)
        {
            var src = x.Slice(i * BlockSize, BlockSize);
            ref var b = ref blocks[i];
            float maxScale = 0, amax = 0;
            for (int s = 0; s < 16; s++)
            {
                scales[s] = MakeQ3Quants(4, src.Slice(16 * s, 16), L.Slice(16 * s, 16));
                float scale = MathF.Abs(scales[s]);
                if (scale > amax)
                {
                    amax = scale;
                    maxScale = scales[s];
                }
            }

            for (int k = 0; k < 12; k++)
                b.Scales[k] = 0;
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int s = 0; s < 16; s++)
                {
                    int l = Math.Clamp((int)(sbyte)QuantMath.NearestInt(iscale * scales[s]), -32, 31) + 32;
                    if (s < 8)
                        b.Scales[s] = (byte)(l & 0xF);
                    else
                        b.Scales[s - 8] |= (byte)((l & 0xF) << 4);
                    b.Scales[8 + s % 4] |= (byte)((l >> 4) << (2 * (s / 4)));
                }
                b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(1 / iscale));
            }
            else
            {
                b.D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(0f));
            }

            float d = Fp16.HalfBitsToSingle(b.D);
            for (int s = 0; s < 16; s++)
            {
                float dq = d * Scale(b, s);
                if (dq == 0)
                    continue;
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    L[e] = (sbyte)(Math.Clamp(QuantMath.NearestInt(src[e] / dq), -4, 3) + 4);
            }

            // L is 0..7 here: its bit 2 goes to the mask (bit e / 32 of hmask[e % 32]), bits 0-1 to qs.
            for (int l = 0; l < 32; l++)
                b.HMask[l] = 0;
            for (int e = 0; e < BlockSize; e++)
            {
                if (L[e] > 3)
                {
                    b.HMask[e % 32] |= (byte)(1 << (e / 32));
                    L[e] -= 4;
                }
            }
            var low = MemoryMarshal.AsBytes(L);
            for (int n = 0; n < 2; n++)
            {
                for (int l = 0; l < 32; l++)
                {
                    int e = 128 * n + l;
                    b.Qs[32 * n + l] = (byte)(low[e] | (low[e + 32] << 2) | (low[e + 64] << 4) | (low[e + 96] << 6));
                }
            }
        }
    }

    /// <summary>
    /// ggml_vec_dot_q3_K_q8_K (scalar): per block, eight exact int32 lanes aux32[l] = sum over values e with
    /// e % 8 == l of scale * (q8 * q); then sums[l] += (d * y.d) * aux32[l] in float, and the result is the sum of
    /// the eight lanes at the end (ggml's order, lane by lane across blocks).
    /// </summary>
    public static float Dot(ReadOnlySpan<BlockQ3_K> w, ReadOnlySpan<BlockQ8_K> x)
    {
        Span<float> sums = stackalloc float[8];
        Span<int> aux32 = stackalloc int[8];
        sums.Clear();
        for (int i = 0; i < w.Length; i++)
        {
            ref readonly var a = ref w[i];
            ref readonly var b = ref x[i];
            aux32.Clear();
            for (int s = 0; s < 16; s++)
            {
                int scale = Scale(a, s);
                for (int e = 16 * s; e < 16 * s + 16; e++)
                    aux32[e % 8] += scale * (b.Qs[e] * Quant(a, e));
            }
            float d = Fp16.HalfBitsToSingle(a.D) * b.D;
            for (int l = 0; l < 8; l++)
                sums[l] += d * aux32[l];
        }
        float sumf = 0;
        for (int l = 0; l < 8; l++)
            sumf += sums[l];
        return sumf;
    }

    /// <summary>
    /// make_q3_quants with do_rmse: a symmetric grid value = scale * (L - nmax) with L in [0, 2 nmax - 1], weights
    /// x^2. Starts from iscale = -nmax / max (max = the value of largest magnitude, first one wins), then up to five
    /// passes of coordinate descent that move one L at a time when that strictly improves sumlx^2 / suml2. Writes
    /// L, returns sumlx / suml2 (b4748 has no guard for suml2 == 0; it cannot be 0 once a value is nonzero).
    /// An all-zero group gets L = 0 (not nmax) and scale 0, as in ggml.
    /// </summary>
    private static float MakeQ3Quants(int nmax, ReadOnlySpan<float> x, Span<sbyte> L)
    {
        int n = x.Length;
        float max = 0, amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }
        if (amax < 1e-15f) // ggml's GROUP_MAX_EPS
        {
            L[..n].Clear();
            return 0;
        }
        float iscale = -nmax / max;
        float sumlx = 0, suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = Math.Clamp(QuantMath.NearestInt(iscale * x[i]), -nmax, nmax - 1);
            L[i] = (sbyte)l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        for (int pass = 0; pass < 5; pass++)
        {
            int changed = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * L[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * L[i] * L[i];
                    int newL = Math.Clamp(QuantMath.NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
                    if (newL != L[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            L[i] = (sbyte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            changed++;
                        }
                    }
                }
            }
            if (changed == 0)
                break;
        }
        for (int i = 0; i < n; i++)
            L[i] += (sbyte)nmax;
        return sumlx / suml2;
    }
}
