using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static LlamaAot.Quants.QuantLanes;

namespace LlamaAot.Quants;

/// <summary>
/// <see cref="KQuantScaleMin.QuantizeSuperBlock"/> with the 8 sub-blocks of a super-block in the 8 lanes of a vector:
/// lane j performs sub-block j's float operations exactly as the scalar code does, in the same order (each sum still
/// adds one value after the other), and its branches become per-lane selects, so it writes the reference's bytes for
/// every input, NaN and infinity included. Q4_K and Q5_K quantize through it (the quantize tool's path).
/// </summary>
[SkipLocalsInit]
internal static unsafe class KQuantScaleMinLanes
{
    private const int SubBlocks = 8, N = 32;

    /// <inheritdoc cref="KQuantScaleMin.QuantizeSuperBlock"/>
    /// <remarks>For the searches of Q4_K and Q5_K: <paramref name="nstep"/> at least 1 (Q2_K's mean-absolute-error
    /// search is not here).</remarks>
    public static void QuantizeSuperBlock(ReadOnlySpan<float> x, int nmax, float rmin, float rdelta, int nstep,
        Span<byte> l, Span<byte> packed, out ushort d, out ushort dmin)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nstep, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, SubBlocks * N, nameof(x));
        ArgumentOutOfRangeException.ThrowIfLessThan(l.Length, SubBlocks * N, nameof(l));
        ArgumentOutOfRangeException.ThrowIfLessThan(packed.Length, KQuantScaleMin.Bytes, nameof(packed));
        fixed (float* source = x)
        fixed (byte* quants = l)
            QuantizeSuperBlock(source, nmax, rmin, rdelta, nstep, quants, packed, out d, out dmin);
    }

    private static void QuantizeSuperBlock(float* x, int nmax, float rmin, float rdelta, int nstep, byte* l, Span<byte> packed, out ushort d, out ushort dmin)
    {
        var xt = stackalloc Vector256<float>[N]; // xt[i] lane j = x[32j + i]
        var weights = stackalloc Vector256<float>[N];
        var quants = stackalloc Vector256<float>[N]; // the quants of each lane, as floats
        var aux = stackalloc Vector256<float>[N];
        Transpose(x, N, N, xt);

        var sumX2 = Vector256<float>.Zero;
        for (int i = 0; i < N; i++)
            sumX2 += xt[i] * xt[i];
        var avX = Vector256.Sqrt(sumX2 / Vector256.Create((float)N));
        for (int i = 0; i < N; i++)
            weights[i] = avX + Vector256.Abs(xt[i]);
        var scaleLanes = MakeQkx2Quants(nmax, xt, weights, quants, aux, rmin, rdelta, nstep, out var minLanes);

        float* scales = stackalloc float[SubBlocks], mins = stackalloc float[SubBlocks];
        scaleLanes.Store(scales);
        minLanes.Store(mins);
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < SubBlocks; j++)
        {
            if (scales[j] > maxScale)
                maxScale = scales[j];
            if (mins[j] > maxMin)
                maxMin = mins[j];
        }
        KQuantScaleMin.Pack(new ReadOnlySpan<float>(scales, SubBlocks), new ReadOnlySpan<float>(mins, SubBlocks), maxScale, maxMin, packed);
        d = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(maxScale / 63f));
        dmin = BitConverter.HalfToUInt16Bits(Fp16.ToHalf(maxMin / 63f));

        // Requantize against the half-rounded scales; a lane whose d * scale is 0 keeps its quants.
        float dAll = Fp16.HalfBitsToSingle(d), dMinAll = Fp16.HalfBitsToSingle(dmin);
        float* dq = stackalloc float[SubBlocks], dm = stackalloc float[SubBlocks];
        for (int j = 0; j < SubBlocks; j++)
        {
            var (sc, m) = KQuantScaleMin.Get(j, packed);
            dq[j] = dAll * sc;
            dm[j] = dMinAll * m;
        }
        var dqs = Vector256.Load(dq);
        var dms = Vector256.Load(dm);
        var keep = Vector256.Equals(dqs, Vector256<float>.Zero);
        var zero = Vector256<int>.Zero;
        var top = Vector256.Create(nmax);
        for (int i = 0; i < N; i++)
            quants[i] = Select(keep, quants[i], NearestIntClamped((xt[i] + dms) / dqs, zero, top));
        Untranspose(quants, N, N, l);
    }

    /// <summary>
    /// <see cref="KQuantScaleMin.MakeQkx2Quants"/> (squared error, nstep &gt;= 1) for the 8 sub-blocks in
    /// <paramref name="xt"/>: returns each lane's scale, its min in <paramref name="theMin"/> and its quants in
    /// <paramref name="l"/>; <paramref name="laux"/> is scratch.
    /// </summary>
    private static Vector256<float> MakeQkx2Quants(int nmax, Vector256<float>* xt, Vector256<float>* weights, Vector256<float>* l,
        Vector256<float>* laux, float rmin, float rdelta, int nstep, out Vector256<float> theMin)
    {
        var zeroF = Vector256<float>.Zero;
        var min = xt[0];
        var max = xt[0];
        var sumW = weights[0];
        var sumX = sumW * xt[0];
        for (int i = 1; i < N; i++)
        {
            var v = xt[i];
            min = Select(Vector256.LessThan(v, min), v, min);
            max = Select(Vector256.GreaterThan(v, max), v, max);
            var w = weights[i];
            sumW += w;
            sumX += w * v;
        }
        min = Select(Vector256.GreaterThan(min, zeroF), zeroF, min);
        // A lane whose values are all equal (max == min) gets quants 0, scale 0 and min -min, whatever happens below.
        var flat = Vector256.Equals(max, min);
        var flatMin = min;

        var zero = Vector256<int>.Zero;
        var top = Vector256.Create(nmax);
        var iscale = Vector256.Create((float)nmax) / (max - min);
        var scale = Vector256<float>.One / iscale;
        var bestError = zeroF;
        for (int i = 0; i < N; i++)
        {
            var q = NearestIntClamped(iscale * (xt[i] - min), zero, top);
            l[i] = q;
            var diff = scale * q + min - xt[i];
            bestError += weights[i] * (diff * diff);
        }

        for (int step = 0; step <= nstep; step++)
        {
            iscale = Vector256.Create(rmin + rdelta * step + nmax) / (max - min); // min as the last better fit left it
            var sumL = zeroF;
            var sumL2 = zeroF;
            var sumXL = zeroF;
            for (int i = 0; i < N; i++)
            {
                var q = NearestIntClamped(iscale * (xt[i] - min), zero, top);
                laux[i] = q;
                var wl = weights[i] * q;
                sumL += wl;
                sumL2 += wl * q;
                sumXL += wl * xt[i];
            }
            var det = sumW * sumL2 - sumL * sumL;
            var solvable = Vector256.GreaterThan(det, zeroF);
            if (solvable == Vector256<float>.Zero)
                continue;
            var thisScale = (sumW * sumXL - sumX * sumL) / det;
            var thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            var positive = Vector256.GreaterThan(thisMin, zeroF);
            thisMin = Select(positive, zeroF, thisMin);
            thisScale = Select(positive, sumXL / sumL2, thisScale);
            var error = zeroF;
            for (int i = 0; i < N; i++)
            {
                var diff = thisScale * laux[i] + thisMin - xt[i];
                error += weights[i] * (diff * diff);
            }
            var better = solvable & Vector256.LessThan(error, bestError);
            if (better == Vector256<float>.Zero)
                continue;
            for (int i = 0; i < N; i++)
                l[i] = Select(better, laux[i], l[i]);
            bestError = Select(better, error, bestError);
            scale = Select(better, thisScale, scale);
            min = Select(better, thisMin, min);
        }

        for (int i = 0; i < N; i++)
            l[i] = Select(flat, zeroF, l[i]);
        theMin = Select(flat, flatMin, min) ^ Vector256.Create(-0f); // -min: a sign flip, as C's unary minus
        return Select(flat, zeroF, scale);
    }
}
