using LlamaAot.Model;
using LlamaAot.Tools;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// Files written by llama-aot's quantizer, loaded by llama.cpp itself: it must accept every one (a malformed GGUF,
/// a wrong tensor size or type would fail to load) and generate the same greedy tokens as llama-aot on it.
/// stories260K's rows (64 and 172 wide) hold no K-quant block, so the random-e256 model (256 and 768 wide) is
/// quantized too; its output distribution is nearly flat, so there the logits are compared instead of greedy ids,
/// within the tolerance of <see cref="RandomShapeTests"/>.
/// </summary>
[Trait("Category", "Golden")]
public class QuantizedFileTests
{
    private const string Prompt = "Once upon a time";
    private const int Tokens = 32;

    public static TheoryData<string> Types() =>
        ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"];

    [Theory]
    [MemberData(nameof(Types))]
    public void LlamaCppGeneratesWhatLlamaAotGenerates(string type)
    {
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-quantized-stories260K-{type}-{Environment.ProcessId}.gguf");
        try
        {
            Quantizer.Quantize(Shared.Stories260KF32, path, new QuantizeOptions { Recipe = QuantizeRecipe.Find(type)!, Threads = 2 });
            int[] expected = LlamaCpp.Greedy(path, Prompt, Tokens);

            using var model = LlamaModel.Load(path);
            using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32 });
            // The same loop as LlamaCpp.Greedy: argmax (first maximum wins), end-of-sequence treated like any token.
            var actual = new int[Tokens];
            float[] logits = context.Evaluate(model.Tokenize(Prompt)).ToArray();
            for (int step = 0; step < Tokens; step++)
            {
                actual[step] = Array.IndexOf(logits, logits.Max());
                logits = context.Evaluate([actual[step]]).ToArray();
            }
            Assert.Equal(expected, actual);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void LlamaCppLoadsRandomE256Quantized(string type)
    {
        const string Text = "Lily and Tom went to the park. They saw a big";
        string source = Path.Combine(Shared.Root, "models", "random-e256", "random-e256-l2-F32.gguf");
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-quantized-random-e256-{type}-{Environment.ProcessId}.gguf");
        try
        {
            Quantizer.Quantize(source, path, new QuantizeOptions { Recipe = QuantizeRecipe.Find(type)!, Threads = 2 });
            var expected = LlamaCpp.Logits(path, Text, out int[] tokens);

            double worst = LlamaAotLogits.MaxDifference(path, Text, tokens, expected, threads: 1);
            Assert.True(worst <= 0.05, $"random-e256 {type}: max |logit difference| {worst:G3} > 0.05");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
