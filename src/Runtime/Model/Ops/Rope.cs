namespace LlamaAot.Model.Ops;

/// <summary>
/// Rotary position embedding, llama's "normal" layout: adjacent pairs (x[2i], x[2i+1]) of each head rotate by
/// theta_i = pos * base^(-2i/nRot) / f_i, for 2i &lt; nRot; dimensions past nRot are left alone. The frequency factors
/// f_i are llama3's rope scaling (rope_freqs.weight), else 1.
/// </summary>
internal sealed class Rope
{
    private readonly int _nRot;
    private readonly float _thetaScale;
    private readonly float _freqScale;
    private readonly float[] _freqFactors; // [nRot / 2]

    public Rope(int nRot, float freqBase, float freqScale, float[]? freqFactors = null)
    {
        _nRot = nRot;
        _thetaScale = MathF.Pow(freqBase, -2.0f / nRot);
        _freqScale = freqScale;
        // Dividing by 1 is exact, so a model without factors rotates bit for bit as before.
        _freqFactors = freqFactors ?? Enumerable.Repeat(1f, nRot / 2).ToArray();
    }

    /// <summary>
    /// cos/sin of every pair's angle at <paramref name="pos"/>, as ggml_rope_cache_init computes them: theta starts
    /// at the position and is multiplied by theta_scale once per pair (a running product in float); each pair's angle
    /// is that theta divided by its frequency factor, then scaled.
    /// </summary>
    public void Angles(int pos, Span<float> cos, Span<float> sin)
    {
        float theta = pos;
        for (int i = 0; i < _nRot / 2; i++)
        {
            float t = _freqScale * (theta / _freqFactors[i]);
            cos[i] = MathF.Cos(t);
            sin[i] = MathF.Sin(t);
            theta *= _thetaScale;
        }
    }

    /// <summary>Rotates <paramref name="heads"/> heads of <paramref name="headDim"/> values in place.</summary>
    public unsafe void Apply(float* x, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        for (int h = 0; h < heads; h++)
        {
            float* v = x + h * headDim;
            for (int i = 0; i < _nRot / 2; i++)
            {
                float x0 = v[2 * i], x1 = v[2 * i + 1];
                v[2 * i] = x0 * cos[i] - x1 * sin[i];
                v[2 * i + 1] = x0 * sin[i] + x1 * cos[i];
            }
        }
    }
}
