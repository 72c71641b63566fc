using LlamaAot.Gguf;
using LlamaAot.Model;
using Xunit.Abstractions;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// What ../shared/models/arch does not exercise, on models written by the test, against llama.cpp on the same file
/// (logits at every prompt position, F32 weights and cache, bound 1e-3 as the for F32):
/// <list type="bullet">
/// <item>smollm3: llama's block with no rotary embedding on every fourth layer (a random four-layer model);</item>
/// <item>heads of 256 (Gemma's size): qwen3's file with attention.key_length/value_length 256 and new random
/// attention weights of those shapes, with one KV head (MQA) and with two (GQA);</item>
/// <item>heads of 96 (Phi-3-mini's size): phi3's file widened to n_embd 384 = 4 heads of 96, fully rotary, with new
/// random weights of every tensor.</item>
/// </list>
/// The smollm3 case also shows that the comparison can tell: the same weights read as llama (rope on every layer)
/// miss by far more than the bound.
/// </summary>
[Trait("Category", "Golden")]
public class ArchitectureVariantTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-3;
    private const string Prompt = "Once upon a time, Lily and Tom went to the park. They saw a big red ball and a little dog.";

    [Fact]
    public void SmolLM3SkipsRopeOnEveryFourthLayerAsLlamaCpp()
    {
        string llama = TempPath("smollm3-as-llama"), smollm3 = TempPath("smollm3");
        try
        {
            RandomModel.Write(llama, new LlamaShape(NEmbd: 256, NLayer: 4, NHead: 4, NHeadKv: 2, NFf: 512), GgmlType.F32, Shared.Stories260KF32, seed: 3, std: 0.1f);
            Rewrite(llama, smollm3, "smollm3", (_, _) => null);

            var expected = LlamaCpp.Logits(smollm3, Prompt, out int[] tokens);
            double worst = LlamaAotLogits.MaxDifference(smollm3, Prompt, tokens, expected, threads: 2);
            double asLlama = LlamaAotLogits.MaxDifference(llama, Prompt, tokens, expected, threads: 2);
            output.WriteLine($"smollm3: max |logit difference| {worst:G3}; the same weights as llama (rope on every layer): {asLlama:G3}");
            Assert.True(worst <= Tolerance, $"max |logit difference| {worst:G3} > {Tolerance}");
            Assert.True(asLlama > 10 * Tolerance, $"rope on the fourth layer changes the logits by only {asLlama:G3}");
        }
        finally
        {
            File.Delete(llama);
            File.Delete(smollm3);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void HeadsOf256MatchLlamaCpp(int kvHeads)
    {
        const int headDim = 256;
        string path = TempPath($"qwen3-hd256-kv{kvHeads}");
        try
        {
            string source = Path.Combine(Shared.Root, "models", "arch", "qwen3-F32.gguf");
            Rewrite(source, path, "qwen3", (writer, file) =>
            {
                int nEmbd = file.Metadata.GetInt32("qwen3.embedding_length"), nHead = file.Metadata.GetInt32("qwen3.attention.head_count");
                foreach (string key in new[] { "attention.key_length", "attention.value_length", "rope.dimension_count" })
                    writer.Set("qwen3." + key, new GgufValue(GgufValueType.UInt32, (uint)headDim));
                writer.Set("qwen3.attention.head_count_kv", new GgufValue(GgufValueType.UInt32, (uint)kvHeads));
                var random = new Random(42);
                return (name, shape) => name switch
                {
                    _ when name.EndsWith("attn_q.weight") => (new long[] { nEmbd, nHead * headDim }, Normal(random, nEmbd * nHead * headDim, 0, 0.1)),
                    _ when name.EndsWith("attn_k.weight") || name.EndsWith("attn_v.weight") => (new long[] { nEmbd, kvHeads * headDim }, Normal(random, nEmbd * kvHeads * headDim, 0, 0.1)),
                    _ when name.EndsWith("attn_output.weight") => (new long[] { nHead * headDim, nEmbd }, Normal(random, nHead * headDim * nEmbd, 0, 0.05)),
                    _ when name.EndsWith("attn_q_norm.weight") || name.EndsWith("attn_k_norm.weight") => (new long[] { headDim }, Normal(random, headDim, 1, 0.2)),
                    _ => ((long[], float[])?)null,
                };
            });

            var expected = LlamaCpp.Logits(path, Prompt, out int[] tokens);
            double worst = LlamaAotLogits.MaxDifference(path, Prompt, tokens, expected, threads: 2);
            output.WriteLine($"qwen3, heads of {headDim}, {kvHeads} KV head(s): max |logit difference| {worst:G3} over {tokens.Length} positions");
            Assert.True(worst <= Tolerance, $"max |logit difference| {worst:G3} > {Tolerance}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HeadsOf96MatchLlamaCpp()
    {
        string path = TempPath("phi3-hd96");
        try
        {
            string source = Path.Combine(Shared.Root, "models", "arch", "phi3-F32.gguf");
            Rewrite(source, path, "phi3", (writer, file) =>
            {
                // 256 is n_embd = 4 heads x 64 in the shared file, 768 the fused q/k/v and 24 the rope factors.
                var widths = new Dictionary<long, long> { [256] = 384, [768] = 3 * 384, [24] = 48 };
                writer.Set("phi3.embedding_length", new GgufValue(GgufValueType.UInt32, 384u));
                foreach (string key in new[] { "attention.key_length", "attention.value_length", "rope.dimension_count" })
                    writer.Set("phi3." + key, new GgufValue(GgufValueType.UInt32, 96u));
                var random = new Random(96);
                return (name, shape) =>
                {
                    long[] wide = [.. shape.Select(d => widths.GetValueOrDefault(d, d))];
                    int count = (int)wide.Aggregate(1L, (a, b) => a * b);
                    bool vector = wide.Length == 1;
                    return (wide, vector ? Normal(random, count, 1, 0.1) : Normal(random, count, 0, 0.05));
                };
            });

            var expected = LlamaCpp.Logits(path, Prompt, out int[] tokens);
            double worst = LlamaAotLogits.MaxDifference(path, Prompt, tokens, expected, threads: 2);
            output.WriteLine($"phi3, heads of 96: max |logit difference| {worst:G3} over {tokens.Length} positions");
            Assert.True(worst <= Tolerance, $"max |logit difference| {worst:G3} > {Tolerance}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string TempPath(string name) => Path.Combine(Path.GetTempPath(), $"llama-aot-{name}-{Environment.ProcessId}.gguf");

    /// <summary>Box-Muller normal values (System.Random's sequence for a seed is fixed).</summary>
    private static float[] Normal(Random random, int count, double mean, double std)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = (float)(mean + std * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return values;
    }

    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="path"/> as architecture <paramref name="arch"/> (its
    /// <c>{arch}.*</c> keys renamed), after <paramref name="edit"/> has changed the metadata; the tensors it returns a
    /// replacement for (shape, F32 values) are replaced, the others copied.
    /// </summary>
    private static void Rewrite(string source, string path, string arch, Func<GgufWriter, GgufFile, Func<string, long[], (long[] Shape, float[] Values)?>?> edit)
    {
        using var file = GgufFile.Open(source);
        string from = file.Metadata.GetString("general.architecture")!;
        var writer = new GgufWriter();
        foreach (string key in file.Metadata.Keys)
        {
            string name = key.StartsWith(from + ".") ? arch + key[from.Length..] : key;
            writer.Add(name, name == "general.architecture" ? new GgufValue(GgufValueType.String, arch) : file.Metadata[key]);
        }
        var replace = edit(writer, file);
        foreach (var t in file.Tensors)
        {
            if (replace?.Invoke(t.Name, t.Shape) is { } r)
                writer.AddTensor(t.Name, r.Shape, r.Values);
            else
                writer.AddTensor(t.Name, t.Shape, t.Type, file.GetData(t));
        }
        writer.WriteTo(path);
    }
}
