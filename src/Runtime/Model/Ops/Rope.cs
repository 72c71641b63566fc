namespace LlamaAot.Model.Ops;

/// <summary>
/// Rotary position embedding: pair i of each head rotates by theta_i = pos * base^(-2i/nRot) / f_i, for 2i &lt; nRot;
/// dimensions past nRot are left alone (partial rotary). The pairs are adjacent, (x[2i], x[2i+1]), in llama's
/// "normal" layout, and halves apart, (x[i], x[i + nRot/2]), in the NEOX layout (GPT-NeoX, Qwen, Gemma, Phi-3). The
/// frequency factors f_i are llama3's rope scaling (rope_freqs.weight) or LongRoPE's, else 1; cos and sin are
/// multiplied by the attention factor (LongRoPE's rope.scaling.attn_factor, ggml's mscale), else 1.
/// </summary>
internal sealed class Rope
{
    private readonly int _nRot;
    private readonly bool _neox;
    private readonly float _thetaScale;
    private readonly float _freqScale;
    private readonly float[] _freqFactors; // [nRot / 2]
    private readonly float _attnFactor;

    public Rope(int nRot, float freqBase, float freqScale, float[]? freqFactors = null, bool neox = false, float attnFactor = 1)
    {
        _attnFactor = attnFactor;
        _nRot = nRot;
        _neox = neox;
        _thetaScale = MathF.Pow(freqBase, -2.0f / nRot);
        _freqScale = freqScale;
        // Dividing by 1 is exact, so a model without factors rotates bit for bit as before.
        _freqFactors = freqFactors ?? Enumerable.Repeat(1f, nRot / 2).ToArray();
    }

    /// <summary>
    /// cos/sin of every pair's angle at <paramref name="pos"/>, as ggml_rope_cache_init computes them: theta starts
    /// at the position and is multiplied by theta_scale once per pair (a running product in float); each pair's angle
    /// is that theta divided by its frequency factor, then scaled; cos and sin are then multiplied by the attention
    /// factor (by 1, exactly, without one).
    /// </summary>
    public void Angles(int pos, Span<float> cos, Span<float> sin)
    {
        float theta = pos;
        for (int i = 0; i < _nRot / 2; i++)
        {
            float t = _freqScale * (theta / _freqFactors[i]);
            cos[i] = MathF.Cos(t) * _attnFactor;
            sin[i] = MathF.Sin(t) * _attnFactor;
            theta *= _thetaScale;
        }
    }

    /// <summary>
    /// Rotates <paramref name="heads"/> heads of <paramref name="headDim"/> values in place, with ggml's rotate_pairs'
    /// float operations as llama.cpp's x86 builds compile them (GCC contracts <c>x0*cos - x1*sin</c> into one fused
    /// multiply-add): x0' = fma(x0, cos, -(x1 * sin)), x1' = fma(x0, sin, x1 * cos).
    /// </summary>
    public unsafe void Apply(float* x, int heads, int headDim, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
    {
        int half = _nRot / 2, step = _neox ? 1 : 2, partner = _neox ? half : 1;
        for (int h = 0; h < heads; h++)
        {
            float* v = x + h * headDim;
            for (int i = 0; i < half; i++)
            {
                float* p = v + i * step;
                float x0 = p[0], x1 = p[partner];
                p[0] = MathF.FusedMultiplyAdd(x0, cos[i], -(x1 * sin[i]));
                p[partner] = MathF.FusedMultiplyAdd(x0, sin[i], x1 * cos[i]);
            }
        }
    }
}
