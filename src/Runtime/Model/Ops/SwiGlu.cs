using System.Runtime.Intrinsics;
using LlamaAot.Kernels;

namespace LlamaAot.Model.Ops;

/// <summary>The SwiGLU gate: gate = silu(gate) * up, silu(x) = x / (1 + e^-x) (ggml_swiglu).</summary>
internal static unsafe class SwiGlu
{
    /// <summary>Values per vector step of ggml_vec_swiglu_f32 in llama.cpp's AVX2 build (the one that made the references).</summary>
    public const int GgmlGroup = 8;

    /// <summary>One row, in place in the gate.</summary>
    public static void Row(float* gate, float* up, int n) => Row(gate, up, gate, n);

    /// <summary>
    /// One row, y = silu(gate) * up, rounded as ggml_vec_swiglu_f32 in llama.cpp's AVX2 build: e^-x by ggml's
    /// vector expf (<see cref="GgmlExpF"/>) on each whole group of 8 values, by the C library's expf on the rest (its
    /// scalar tail).
    /// </summary>
    public static void Row(float* gate, float* up, float* y, int n)
    {
        int i = 0, vectorEnd = n / GgmlGroup * GgmlGroup;
        var one = Vector256<float>.One;
        for (; i < vectorEnd; i += Vector256<float>.Count)
        {
            var g = Vector256.Load(gate + i);
            (g / (one + GgmlExpF.Exp(-g)) * Vector256.Load(up + i)).Store(y + i);
        }
        for (; i < n; i++)
        {
            float g = gate[i];
            y[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
        }
    }
}
