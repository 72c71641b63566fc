using System.Runtime.Intrinsics;
using LlamaAot.Kernels;

namespace LlamaAot.Model.Ops;

/// <summary>The SwiGLU gate: gate = silu(gate) * up, silu(x) = x / (1 + e^-x) (ggml_swiglu).</summary>
internal static unsafe class SwiGlu
{
    /// <summary>One row, in place in the gate.</summary>
    public static void Row(float* gate, float* up, int n) => Row(gate, up, gate, n);

    /// <summary>One row, y = silu(gate) * up (y may be the gate); e^-x as the C library's expf (<see cref="ExpF"/>).</summary>
    public static void Row(float* gate, float* up, float* y, int n)
    {
        int i = 0, vectorEnd = n / Vector256<float>.Count * Vector256<float>.Count;
        var one = Vector256<float>.One;
        for (; i < vectorEnd; i += Vector256<float>.Count)
        {
            var g = Vector256.Load(gate + i);
            (g / (one + ExpF.Exp(-g)) * Vector256.Load(up + i)).Store(y + i);
        }
        for (; i < n; i++)
        {
            float g = gate[i];
            y[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
        }
    }
}
