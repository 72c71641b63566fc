namespace LlamaAot.Model.Ops;

/// <summary>
/// The GeGLU gate of Gemma's feed-forward: gate = gelu(gate) * up, gelu the tanh approximation
/// 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))), computed as ggml's CPU backend computes it (GGML_GELU_FP16,
/// ggml_vec_geglu_f32): x at or below -10 gives 0, x at or above 10 passes; in between x is rounded to half and
/// looked up in a table of the gelu of every half, itself rounded to half (ggml_table_gelu_f16).
/// </summary>
internal static unsafe class GeGlu
{
    private const float CoefA = 0.044715f;
    private const float SqrtTwoOverPi = 0.79788456080286535587989211986876f;

    /// <summary>gelu of the half with bits i, rounded to half and widened (built on first use: 65,536 floats).</summary>
    private static readonly float[] Table = BuildTable();

    private static float[] BuildTable()
    {
        var table = new float[1 << 16];
        for (int i = 0; i < table.Length; i++)
        {
            float x = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            table[i] = (float)(Half)Gelu(x);
        }
        return table;
    }

    /// <summary>
    /// ggml_gelu_f32 in float, with the multiply-add GCC contracts in llama.cpp's x86 builds (-march with FMA):
    /// 1 + a x x is fma(a x, x, 1).
    /// </summary>
    public static float Gelu(float x) => 0.5f * x * (1.0f + MathF.Tanh(SqrtTwoOverPi * x * MathF.FusedMultiplyAdd(CoefA * x, x, 1.0f)));

    /// <summary>One row: gate[i] = gelu(gate[i]) * up[i].</summary>
    public static void Row(float* gate, float* up, int n)
    {
        fixed (float* table = Table)
        {
            for (int i = 0; i < n; i++)
            {
                float x = gate[i];
                gate[i] = x <= -10.0f ? 0.0f
                    : x >= 10.0f ? x * up[i]
                    : table[BitConverter.HalfToUInt16Bits((Half)x)] * up[i];
            }
        }
    }
}
