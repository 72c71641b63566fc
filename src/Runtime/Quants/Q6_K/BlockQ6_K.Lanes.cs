using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static LlamaAot.Quants.QuantLanes;

namespace LlamaAot.Quants;

// Q6_K's quantizer with 8 sub-blocks in the 8 lanes of a vector: the bytes of the scalar reference (Quantize in
// BlockQ6_K.Reference.cs) for every input, NaN and infinity included, several times faster. Each lane performs its
// sub-block's float operations exactly as the scalar code does, in the same order (make_qx_quants' sums still add one
// value after the other); branches become per-lane selects.
public unsafe partial struct BlockQ6_K
{
    private const int SubBlock = 16, QxMax = 32; // make_qx_quants' n and nmax for Q6_K

    /// <summary><see cref="Quantize"/>, byte for byte, with 8 sub-blocks at a time in vector lanes.</summary>
    public static void QuantizeFast(ReadOnlySpan<float> x, Span<BlockQ6_K> blocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, blocks.Length * BlockSize, nameof(x));
        fixed (float* source = x)
        fixed (BlockQ6_K* target = blocks)
        {
            for (int i = 0; i < blocks.Length; i++)
                QuantizeBlock(source + i * BlockSize, target + i);
        }
    }

    [SkipLocalsInit]
    private static void QuantizeBlock(float* x, BlockQ6_K* b)
    {
        const int subBlocks = BlockSize / SubBlock;
        byte* l = stackalloc byte[BlockSize];
        float* scales = stackalloc float[subBlocks];
        var xt = stackalloc Vector256<float>[SubBlock];
        var quants = stackalloc Vector256<float>[SubBlock];
        var aux = stackalloc Vector256<float>[SubBlock];
        for (int half = 0; half < 2; half++)
        {
            Transpose(x + half * 8 * SubBlock, SubBlock, SubBlock, xt);
            MakeQxQuantsLanes(xt, quants, aux).Store(scales + 8 * half);
            Untranspose(quants, SubBlock, SubBlock, l + half * 8 * SubBlock);
        }

        float maxScale = 0, maxAbsScale = 0;
        for (int s = 0; s < subBlocks; s++)
        {
            if (MathF.Abs(scales[s]) > maxAbsScale)
            {
                maxAbsScale = MathF.Abs(scales[s]);
                maxScale = scales[s];
            }
        }
        if (maxAbsScale < GroupMaxEps)
        {
            *b = default;
            return;
        }

        float iscale = -128f / maxScale;
        b->D = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(1 / iscale));
        for (int s = 0; s < subBlocks; s++)
            b->Scales[s] = (sbyte)Math.Min(127, QuantMath.NearestInt(iscale * scales[s]));

        // Requantize against the half-rounded scales (values in order, 8 at a time); a sub-block whose d * scale is
        // 0 keeps its first-pass quants.
        float dAll = Fp16.HalfBitsToSingle(b->D);
        var lo = Vector256.Create(-32);
        var hi = Vector256.Create(31);
        for (int s = 0; s < subBlocks; s++)
        {
            float d = dAll * b->Scales[s];
            if (d == 0)
                continue;
            var ds = Vector256.Create(d);
            for (int j = SubBlock * s; j < SubBlock * s + SubBlock; j += 8)
            {
                var q = Vector256.Max(lo, Vector256.Min(hi, NearestInt(Vector256.Load(x + j) / ds))) + Vector256.Create(32);
                StoreBytes(q, l + j);
            }
        }
        b->Pack(new ReadOnlySpan<sbyte>(l, BlockSize));
    }

    /// <summary>
    /// <see cref="MakeQxQuants"/> (nmax 32) for the 8 sub-blocks of 16 values in <paramref name="xt"/>: returns each
    /// lane's scale and its stored quants (l + 32, or 0 for a sub-block of zeros) in <paramref name="l"/>;
    /// <paramref name="aux"/> is scratch.
    /// </summary>
    private static Vector256<float> MakeQxQuantsLanes(Vector256<float>* xt, Vector256<float>* l, Vector256<float>* aux)
    {
        var zero = Vector256<float>.Zero;
        var max = zero;
        var amax = zero;
        for (int i = 0; i < SubBlock; i++)
        {
            var ax = Vector256.Abs(xt[i]);
            var larger = Vector256.GreaterThan(ax, amax);
            amax = Select(larger, ax, amax);
            max = Select(larger, xt[i], max);
        }
        var allZero = Vector256.LessThan(amax, Vector256.Create(GroupMaxEps));

        var (sumlx, suml2) = QxSums(xt, Vector256.Create((float)-QxMax) / max, l);
        var scale = Select(Vector256.Equals(suml2, zero), zero, sumlx / suml2);
        var best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
                continue;
            (sumlx, suml2) = QxSums(xt, Vector256.Create(-(QxMax + 0.1f * step)) / max, aux);
            var better = Vector256.GreaterThan(suml2, zero) & Vector256.GreaterThan(sumlx * sumlx, best * suml2);
            if (better == zero)
                continue;
            for (int i = 0; i < SubBlock; i++)
                l[i] = Select(better, aux[i], l[i]);
            var thisScale = sumlx / suml2;
            scale = Select(better, thisScale, scale);
            best = Select(better, thisScale * sumlx, best);
        }

        var offset = Vector256.Create((float)QxMax);
        for (int i = 0; i < SubBlock; i++)
            l[i] = Select(allZero, zero, l[i] + offset);
        return Select(allZero, zero, scale);
    }

    /// <summary>
    /// One pass of make_qx_quants (weights x²) in every lane: the quants l = clamp(nearest_int(iscale * x), -32, 31)
    /// into <paramref name="q"/> as floats, and the sums of (w * x) * l and (w * l) * l, value after value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> SumLX, Vector256<float> SumL2) QxSums(Vector256<float>* xt, Vector256<float> iscale, Vector256<float>* q)
    {
        var lo = Vector256.Create(-QxMax);
        var hi = Vector256.Create(QxMax - 1);
        var sumlx = Vector256<float>.Zero;
        var suml2 = Vector256<float>.Zero;
        for (int i = 0; i < SubBlock; i++)
        {
            var l = NearestIntClamped(iscale * xt[i], lo, hi);
            q[i] = l;
            var w = xt[i] * xt[i];
            sumlx += w * xt[i] * l;
            suml2 += w * l * l;
        }
        return (sumlx, suml2);
    }
}
