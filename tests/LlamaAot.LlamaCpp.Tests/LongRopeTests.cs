using LlamaAot.Gguf;
using Xunit.Abstractions;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// Phi-3's LongRoPE past the original context, which the shared references never reach (their context of 256 is
/// under the file's rope.scaling.original_context_length of 2048, so they take rope_factors_short):
/// models/arch/phi3-F32.gguf rewritten with an original context of 64, so that a context of 256 takes
/// rope_factors_long, with Phi-3.5-mini's rope.scaling.attn_factor (sqrt(1 + ln 32 / ln 4096), on cos and sin), and
/// with attention.sliding_window 8, which llama.cpp reads and switches off for phi3. Logits at every position of a
/// prompt longer than 64 tokens against llama.cpp's on the same file. Measured: 1.4e-6 (llama.cpp 0.5.0 itself,
/// outside the suite: 1.4e-6); with the short factors 1.73, without the attention factor 0.76, with the window 3.17.
/// </summary>
[Trait("Category", "Golden")]
public class LongRopeTests(ITestOutputHelper output)
{
    // F32 weights and cache, as the bound for F32; the two differ only in float summation order.
    private const double Tolerance = 1e-3;

    // Longer than the original context, so positions past it are compared too.
    private const string Prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her " +
        "friends. One day, she saw a big red ball in the grass. She ran to get it, but a dog took it first. Lily was sad, " +
        "so her mom gave her a hug and they went home to eat cake.";

    [Fact]
    public void Phi3LongFactorsAndAttentionFactorMatchLlamaCpp()
    {
        string source = Path.Combine(Shared.Root, "models", "arch", "phi3-F32.gguf");
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-phi3-longrope-{Environment.ProcessId}.gguf");
        try
        {
            using (var file = GgufFile.Open(source))
            {
                var writer = new GgufWriter();
                writer.AddMetadata(file.Metadata);
                writer.Set("phi3.rope.scaling.original_context_length", new GgufValue(GgufValueType.UInt32, 64u));
                writer.Add("phi3.rope.scaling.attn_factor", (float)Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)));
                writer.Add("phi3.attention.sliding_window", 8u);
                foreach (var t in file.Tensors)
                    writer.AddTensor(t.Name, t.Shape, t.Type, file.GetData(t));
                writer.WriteTo(path);
            }
            var expected = LlamaCpp.Logits(path, Prompt, out int[] tokens);
            Assert.True(tokens.Length > 64, $"the prompt has {tokens.Length} tokens, not more than the original context");

            double worst = LlamaAotLogits.MaxDifference(path, Prompt, tokens, expected, threads: 2);
            double shortFactors = LlamaAotLogits.MaxDifference(source, Prompt, tokens, expected, threads: 2);
            output.WriteLine($"max |logit difference| {worst:G3} over {tokens.Length} positions; with the short factors and no attention factor: {shortFactors:G3}");
            Assert.True(worst <= Tolerance, $"max |logit difference| {worst:G3} > {Tolerance}");
            // The comparison can tell the factors apart: the same weights on the short ones miss by far more.
            Assert.True(shortFactors > 100 * Tolerance, $"the short factors give logits within {shortFactors:G3} of the long ones");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
