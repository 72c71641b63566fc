using System.Text.Json;
using LlamaAot.Model;
using LlamaAot.Tests.Cli;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Model;

/// <summary>
/// Every architecture llama-aot runs against llama.cpp 0.5.0 on ../shared/models/arch (two-layer random-weight models
/// of each family, in F32, Q8_0 and Q4_K_M) and ../shared/reference/arch (its tokens, one-batch logits at every
/// prompt position, and 64 greedy ids with its own top-2 gaps, for three prompts). The bounds: logits within
/// 1e-3 (F32) / 0.05 (Q8_0, Q4_K_M) with an F32 cache; greedy ids with the default F16 cache equal, a divergence
/// accepted only where llama.cpp's own top-2 gap is below 0.1 (the ids after it are then not compared).
/// </summary>
[Trait("Category", "Isa")]
public sealed class ArchReferenceTests(ITestOutputHelper output)
{
    /// <summary>The <c>general.architecture</c> of each family this build runs: one line per family.</summary>
    public static readonly string[] Architectures =
    [
        "llama",
        "qwen2",
        "qwen3",
        "phi3",
        "gemma2",
        "gemma3",
    ];

    private static readonly string[] Types = ["F32", "Q8_0", "Q4_K_M"];

    /// <summary>The prompts, exactly as the reference README gives them.</summary>
    public static readonly Dictionary<string, string> Prompts = new()
    {
        ["lily"] = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.",
        ["ball"] = "Tom had a big red ball. He threw it very high and it went over the fence into the garden",
        ["cat"] = "The cat sat on the mat and looked at the bird",
    };

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string arch in Architectures)
            foreach (string type in Types)
                foreach (string prompt in Prompts.Keys)
                    data.Add(arch, type, prompt);
        return data;
    }

    /// <summary>The largest |dlogit| allowed (issue 10's bounds; measured values are in the closing note).</summary>
    private static double Tolerance(string type) => type == "F32" ? 1e-3 : 0.05;

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsMatchLlamaCppAtEveryPosition(string arch, string type, string prompt)
    {
        var reference = Reference.Load(arch, type, "kvf32", prompt);
        using var model = LlamaModel.Load(ModelPath(arch, type));
        Assert.Equal(reference.Tokens, model.Tokenize(Prompts[prompt], addSpecial: true, parseSpecial: false));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32 });

        float[] logits = context.EvaluateAll(reference.Tokens).ToArray();

        int nVocab = model.Config.NVocab;
        double largest = 0;
        for (int t = 0; t < reference.Tokens.Length; t++)
        {
            var (worst, at) = MaxDifference(logits.AsSpan(t * nVocab, nVocab), reference.Logits[t]);
            Assert.True(worst <= Tolerance(type), $"{arch}-{type} {prompt}, position {t}: logit {at} is {logits[t * nVocab + at]}, llama.cpp {reference.Logits[t][at]} (|d| {worst:G3})");
            largest = Math.Max(largest, worst);
        }
        output.WriteLine($"{arch}-{type} {prompt}: max |dlogit| {largest:G3} over {reference.Tokens.Length} positions");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyIdsMatchLlamaCppWithTheF16Cache(string arch, string type, string prompt)
    {
        var reference = Reference.Load(arch, type, "f16", prompt);
        using var model = LlamaModel.Load(ModelPath(arch, type));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });

        float[] logits = context.Evaluate(reference.Tokens).ToArray();
        for (int step = 0; step < reference.Greedy.Length; step++)
        {
            int id = ArgMax(logits);
            if (id != reference.Greedy[step])
            {
                Assert.True(reference.Top2Gaps[step] < 0.1,
                    $"{arch}-{type} {prompt}, step {step}: llama-aot picks {id}, llama.cpp {reference.Greedy[step]} with a top-2 gap of {reference.Top2Gaps[step]}");
                output.WriteLine($"{arch}-{type} {prompt}: greedy ids equal up to step {step}, where llama.cpp's top-2 gap is {reference.Top2Gaps[step]:G3}");
                return; // past a near-tie the sequences part ways: nothing after it is comparable
            }
            logits = context.Evaluate([id]).ToArray();
        }
        output.WriteLine($"{arch}-{type} {prompt}: greedy ids equal, {reference.Greedy.Length} of {reference.Greedy.Length}");
    }

    public static TheoryData<string> ArchitectureNames() => [.. Architectures];

    /// <summary>The same through the command line, as a user compares: <c>llama-aot logits -ctk f32 -ctv f32</c>, F32 weights.</summary>
    [Theory]
    [Trait("Category", "Golden")]
    [MemberData(nameof(ArchitectureNames))]
    public void TheLogitsCommandGivesLlamaCppsTokensAndLogits(string arch)
    {
        var reference = Reference.Load(arch, "F32", "kvf32", "lily");
        var r = LlamaAotProcess.Run("logits", "-m", ModelPath(arch, "F32"), "-p", Prompts["lily"], "-c", "256", "-ctk", "f32", "-ctv", "f32");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(r.Stdout);
        Assert.Equal(reference.Tokens, doc.RootElement.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()));
        var rows = doc.RootElement.GetProperty("logits").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray();
        Assert.Equal(reference.Tokens.Length, rows.Length);
        for (int t = 0; t < rows.Length; t++)
        {
            var (worst, at) = MaxDifference(rows[t], reference.Logits[t]);
            Assert.True(worst <= Tolerance("F32"), $"{arch} position {t}: logit {at} is {rows[t][at]}, llama.cpp {reference.Logits[t][at]} (|d| {worst:G3})");
        }
    }

    internal static string ModelPath(string arch, string type) => Path.Combine(Shared.Models, "arch", $"{arch}-{type}.gguf");

    internal static (double Worst, int At) MaxDifference(ReadOnlySpan<float> actual, float[] expected)
    {
        double worst = 0;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            if (d > worst || double.IsNaN(d))
                (worst, at) = (double.IsNaN(d) ? double.PositiveInfinity : d, i);
        }
        return (worst, at);
    }

    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
                best = i;
        }
        return best;
    }

    /// <summary>One JSON of ../shared/reference/arch: &lt;arch&gt;-&lt;type&gt;.&lt;cache&gt;.&lt;prompt&gt;.json.</summary>
    internal sealed record Reference(int[] Tokens, float[][] Logits, int[] Greedy, float[] Top2Gaps)
    {
        public static Reference Load(string arch, string type, string cache, string prompt)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Shared.Reference, "arch", $"{arch}-{type}.{cache}.{prompt}.json")));
            var root = doc.RootElement;
            return new Reference(
                root.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                root.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray(),
                root.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                root.GetProperty("top2_gaps").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        }
    }
}
