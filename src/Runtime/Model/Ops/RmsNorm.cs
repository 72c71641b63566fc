using System.Runtime.Intrinsics;

namespace LlamaAot.Model.Ops;

/// <summary>RMSNorm then the norm weight: y = x / sqrt(mean(x^2) + eps) * w.</summary>
internal static unsafe class RmsNorm
{
    /// <summary>
    /// One row, rounded as ggml_compute_forward_rms_norm_f32 then ggml_mul: squares in float summed in double,
    /// mean to float, scale = 1 / sqrtf(mean + eps), y = (x * scale) * w in float.
    /// </summary>
    public static void Apply(float* x, float* y, float[] weight, int n, float eps)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float sq = x[i] * x[i];
            sum += sq;
        }
        float mean = (float)(sum / n);
        float scale = 1.0f / MathF.Sqrt(mean + eps);
        fixed (float* w = weight)
        {
            int i = 0;
            var vScale = Vector256.Create(scale);
            for (; i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
                ((Vector256.Load(x + i) * vScale) * Vector256.Load(w + i)).Store(y + i);
            for (; i < n; i++)
                y[i] = x[i] * scale * w[i];
        }
    }
}
