using System.Runtime.InteropServices;
using LlamaAot.Gguf;
using LlamaAot.Model;
using LlamaAot.Model.Architectures;
using LlamaAot.Tests.Gguf;

namespace LlamaAot.Tests.Model;

/// <summary>
/// phi3's LongRoPE beyond what models/arch exercises (its references run a context of 256 under an original context
/// of 2048: the short factors, no attention factor). models/arch/phi3-F32.gguf is rewritten with another
/// rope.scaling.original_context_length and Phi-3.5-mini's rope.scaling.attn_factor, and the rope the model picks for
/// a context is checked against the formula in double: pair i at position p turns by
/// p * base^(-2i/nRot) / f_i, with f the long factors when the context, padded to a multiple of 256 as llama.cpp pads
/// it, is longer than the original context (llama_model::get_rope_factors), else the short ones; cos and sin are
/// multiplied by the attention factor. (The whole forward pass on the long factors is compared with llama.cpp in
/// LlamaAot.LlamaCpp.Tests' LongRopeTests.)
/// </summary>
public sealed class Phi3Tests : IDisposable
{
    private static readonly float AttnFactor = (float)Math.Sqrt(1 + Math.Log(32) / Math.Log(4096));

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(2048, 256, false)] // models/arch's own setting
    [InlineData(300, 256, false)]
    [InlineData(300, 257, true)]   // padded to 512
    [InlineData(200, 200, true)]   // padded to 256: llama.cpp takes the long factors though the context is not longer
    [InlineData(64, 256, true)]
    public void TheRopeTakesTheFactorsOfTheContextAndTheAttentionFactor(int originalContext, int context, bool longFactors)
    {
        string path = _dir.File($"phi3-{originalContext}.gguf");
        float[] factors;
        using (var source = GgufFile.Open(Path.Combine(Shared.Models, "arch", "phi3-F32.gguf")))
        {
            factors = MemoryMarshal.Cast<byte, float>(source.GetData(source.FindTensor(longFactors ? "rope_factors_long.weight" : "rope_factors_short.weight")!)).ToArray();
            var writer = new GgufWriter();
            writer.AddMetadata(source.Metadata);
            writer.Set("phi3.rope.scaling.original_context_length", new GgufValue(GgufValueType.UInt32, (uint)originalContext));
            writer.Add("phi3.rope.scaling.attn_factor", AttnFactor);
            foreach (var t in source.Tensors)
                writer.AddTensor(t.Name, t.Shape, t.Type, source.GetData(t));
            writer.WriteTo(path);
        }
        using var model = LlamaModel.Load(path);
        var rope = ((Phi3)model.Architecture).RopeFor(context);
        int pairs = model.Config.NRot / 2;
        var cos = new float[pairs];
        var sin = new float[pairs];

        // float's running product of base^(-2/nRot) (ggml's) strays from the double formula by under 2e-5 here; the
        // other factor set or a missing attention factor miss by tenths.
        foreach (int pos in new[] { 1, 63, 64, 65, 199, 255 })
        {
            rope.Angles(pos, cos, sin);
            for (int i = 0; i < pairs; i++)
            {
                double theta = pos * Math.Pow(model.Config.RopeFreqBase, -2.0 * i / model.Config.NRot) / factors[i];
                Assert.True(Math.Abs(cos[i] - Math.Cos(theta) * AttnFactor) < 1e-4, $"position {pos}, pair {i}: cos {cos[i]}, formula {Math.Cos(theta) * AttnFactor}");
                Assert.True(Math.Abs(sin[i] - Math.Sin(theta) * AttnFactor) < 1e-4, $"position {pos}, pair {i}: sin {sin[i]}, formula {Math.Sin(theta) * AttnFactor}");
            }
        }
    }
}
