namespace LlamaAot.Model.Ops;

/// <summary>The SwiGLU gate: gate = silu(gate) * up, silu(x) = x / (1 + e^-x) (ggml_silu then ggml_mul).</summary>
internal static unsafe class SwiGlu
{
    public static void Apply(float* gate, float* up, int n)
    {
        for (int i = 0; i < n; i++)
        {
            float g = gate[i];
            gate[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
        }
    }
}
