using System.Text.Json;
using LlamaAot.Model;

namespace LlamaAot.Tests.Model;

/// <summary>
/// Perplexity on ../shared/reference/perplexity/stories-a.txt against llama.cpp's llama-perplexity (b4748, run as
/// <c>-c 128 -b 128 -t 2</c>): 29 chunks of 128 tokens, 63 scored per chunk.
/// </summary>
public class PerplexityTests
{
    /// <summary>The issue's bound on the final PPL, relative to llama.cpp's.</summary>
    private const double IssueBound = 1e-3;

    /// <summary>
    /// Measured (AVX-512 path, F16 KV cache as in llama.cpp's run), llama-aot's PPL / llama.cpp's exact.ppl - 1:
    /// <para>stories260K: F32 +1.9e-5, F16 -0.0, BF16 +4e-5, Q8_0 -2e-5, Q4_0 -4.5e-4, Q4_1 -3.5e-4, Q5_0 +1.5e-4,
    /// Q5_1 +9.0e-4, Q4_K_M -5.0e-4, Q5_K_M +6.0e-4, Q6_K -2e-5, Q2_K / IQ4_NL / IQ4_XS -9.6e-4, Q3_K_M -1.6e-4
    /// (`llama-aot perplexity -c 128 -b 128 -t 1`, after the Q8_0 and IQ4_NL x86 kernels took llama.cpp's exact
    /// accumulation order; before it Q8_0 / Q6_K were -1.23e-3 and Q3_K_M +1.05e-3, outside the bound, and Q2_K /
    /// IQ4_NL / IQ4_XS +6.1e-5).</para>
    /// <para>random-e256: all within 1.2e-4 (Q4_K_M +1.2e-4).</para>
    /// Why the quantized stories260K files move most: every chunk's nll sum differs from llama.cpp's by ±0.1..0.8
    /// (not a few chunks by much), the signature of last-bit differences upstream (float sums taken in another order
    /// than llama.cpp's) flipping the rounding of a few activations to 8 bits in each chunk of 128 positions; with
    /// 64-wide rows one flip moves the logits of every later position. Summed over 29 chunks that is noise of about
    /// 0.09% (one standard deviation, from the spread of the chunk differences) in PPL, the same size as the bound:
    /// llama.cpp's own newer build moves these files by up to 0.17% (Q4_0). Taking the attention sums in llama.cpp's
    /// order (tinyBLAS lanes, a double KQ sum, softmax sums 16 at a time) was tried and moved Q8_0 only from 5.1142 to
    /// 5.1145, so the attention is not the main source; the matrix products' order is (see Q8_0.Simd.cs). The float
    /// types and the 256/768-wide random-e256 rows stay far inside.
    /// <para>With an F32 KV cache against llama.cpp's F32-cache run (ppl_kv_f32) it is not tighter for the quantized
    /// files, only different (measured before the kernel reordering): F32 +5.0e-9, F16 -4.5e-6, BF16 -2.9e-4, Q8_0 / Q6_K -3.3e-4, Q4_0 -7.0e-5,
    /// Q4_1 +4.3e-4, Q5_0 +3.2e-4, Q5_1 -2.0e-4, Q4_K_M -3.9e-4, Q5_K_M +9.0e-4, Q3_K_M +1.9e-4, and Q2_K / IQ4_NL /
    /// IQ4_XS -1.16e-3 miss instead (random-e256: all within 7.2e-5). So the bound is checked in llama.cpp's own
    /// configuration (its default F16 cache, which is also llama-aot's), and the F32 cache is used where it is exact:
    /// F32 weights (<see cref="F32WeightsWithAnF32CacheAreExact"/>).</para>
    /// </summary>
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string set in PerplexityReference.Sets)
        {
            foreach (string type in PerplexityReference.Types)
                data.Add(set, type);
        }
        return data;
    }

    /// <summary>
    /// Per chunk, the largest |mean nll - llama.cpp's| allowed, and the largest relative difference of the error
    /// estimate: measured (F16 cache) 0.015 and 1.8e-3 for stories260K (Q5_1), 0.0017 and 3.3e-4 for random-e256
    /// (Q2_K). Set at twice that: a chunk scored at the wrong positions or without its BOS misses by far more.
    /// </summary>
    private static readonly Dictionary<string, (double ChunkMeanNll, double Error)> Closeness = new()
    {
        ["stories260K"] = (0.03, 4e-3),
        ["random-e256"] = (0.004, 7e-4),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    [Trait("Category", "Golden")]
    public void MatchesLlamaPerplexity(string set, string type)
    {
        var reference = PerplexityReference.Load(set, type);
        using var model = LlamaModel.Load(PerplexityReference.ModelPath(set, type));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, BatchSize = 128, Threads = 2 });

        var result = Perplexity.Compute(context, PerplexityReference.Text);

        Assert.Equal(29, result.Chunks.Count);
        Assert.Equal(29 * 63, result.ScoredTokens);
        var (chunkBound, errorBound) = Closeness[set];
        for (int c = 0; c < result.Chunks.Count; c++)
        {
            double d = Math.Abs(result.Chunks[c].NllSum - reference.ChunkNllSum[c]) / 63;
            Assert.True(d <= chunkBound, $"{set} {type} chunk {c + 1}: mean nll {result.Chunks[c].NllSum / 63:F5}, llama.cpp {reference.ChunkNllSum[c] / 63:F5}");
        }
        double error = result.PplError / reference.PplError - 1;
        Assert.True(Math.Abs(error) <= errorBound, $"{set} {type}: error estimate {result.PplError:F5}, llama.cpp {reference.PplError:F5} ({error:+0.0e0;-0.0e0})");
        double relative = result.Ppl / reference.Ppl - 1;
        Assert.True(Math.Abs(relative) <= IssueBound, $"{set} {type}: PPL {result.Ppl:F4}, llama.cpp {reference.Ppl:F4} ({relative:+0.00e0;-0.00e0}, bound {IssueBound:0.0e0})");
    }

    /// <summary>
    /// F32 weights with an F32 KV cache round nothing to half, bfloat16 or 8 bits, so llama-aot reproduces llama.cpp's
    /// F32-cache run (ppl_kv_f32) almost exactly: measured 5.0e-9 (stories260K) and 4.9e-9 (random-e256) in PPL and
    /// 1.5e-8 / 5.6e-9 in the error. This checks the method itself (chunks, BOS, scored positions, nll, error) with
    /// no rounding noise to hide behind.
    /// </summary>
    [Theory]
    [InlineData("stories260K")]
    [InlineData("random-e256")]
    [Trait("Category", "Golden")]
    public void F32WeightsWithAnF32CacheAreExact(string set)
    {
        var reference = PerplexityReference.Load(set, "F32");
        using var model = LlamaModel.Load(PerplexityReference.ModelPath(set, "F32"));
        using var context = model.CreateContext(new ContextOptions
        {
            ContextSize = 128, BatchSize = 128, Threads = 2, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32,
        });

        var result = Perplexity.Compute(context, PerplexityReference.Text);

        Assert.True(Math.Abs(result.Ppl / reference.PplKvF32 - 1) < 1e-7, $"{set}: PPL {result.Ppl:R}, llama.cpp {reference.PplKvF32:R}");
        Assert.True(Math.Abs(result.PplError / reference.PplErrorKvF32 - 1) < 1e-7, $"{set}: error {result.PplError:R}, llama.cpp {reference.PplErrorKvF32:R}");
    }

    /// <summary>A batch smaller than the chunk (llama.cpp then decodes a chunk in several batches) gives the same result.</summary>
    [Fact]
    public void SmallerBatchesGiveTheSameResult()
    {
        using var model = LlamaModel.Load(Shared.Stories260K("F32"));
        double Run(int batch)
        {
            using var context = model.CreateContext(new ContextOptions
            {
                ContextSize = 128, BatchSize = batch, Threads = 2, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32,
            });
            return Perplexity.Compute(context, PerplexityReference.Text).Ppl;
        }
        double whole = Run(128);
        Assert.True(Math.Abs(Run(32) / whole - 1) < 1e-6);
    }

    [Fact]
    public void TextShorterThanTwoChunksIsRefusedAsLlamaCppRefusesIt()
    {
        using var model = LlamaModel.Load(Shared.Stories260K("Q4_0"));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 2048, Threads = 1 });
        var e = Assert.Throws<PerplexityTextTooShortException>(() => Perplexity.Compute(context, PerplexityReference.Text));
        Assert.Equal(3760, e.Tokens);
        Assert.StartsWith("you need at least 4096 tokens to evaluate perplexity with a context of 2048", e.Message);
    }

    [Fact]
    public void LogSoftmaxIsLlamaCppsFormula()
    {
        float[] logits = [1.5f, -2f, 3.25f, 0f];
        double expected = 1.5 - 3.25 - Math.Log(logits.Sum(l => Math.Exp(l - 3.25)));
        Assert.Equal(expected, Perplexity.LogSoftmax(logits, 0), 1e-7);
    }
}

/// <summary>llama.cpp's perplexity results for one file (../shared/reference/perplexity; the README there has every field).</summary>
internal sealed record PerplexityReference(double Ppl, double PplError, double[] ChunkNllSum, double PplKvF32, double PplErrorKvF32)
{
    public static readonly string[] Sets = ["stories260K", "random-e256"];

    public static readonly string[] Types =
        ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K", "Q2_K", "Q3_K_M", "IQ4_NL", "IQ4_XS"];

    public static string Directory => Path.Combine(Shared.Reference, "perplexity");

    public static string TextPath => Path.Combine(Directory, "stories-a.txt");

    /// <summary>stories-a.txt as llama-perplexity reads it: one trailing newline dropped.</summary>
    public static string Text { get; } = ReadText();

    public static string ModelPath(string set, string type) => set == "stories260K"
        ? Shared.Stories260K(type)
        : Path.Combine(Shared.Models, "random-e256", $"random-e256-l2-{type}.gguf");

    /// <summary>The unrounded values (<c>exact</c>), which reproduce every number llama-perplexity printed.</summary>
    public static PerplexityReference Load(string set, string type)
    {
        string file = set == "stories260K" ? "perplexity-a.json" : "perplexity-a-random-e256.json";
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, file)));
        var result = doc.RootElement.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("type").GetString() == type);
        var exact = result.GetProperty("exact");
        return new PerplexityReference(
            exact.GetProperty("ppl").GetDouble(),
            exact.GetProperty("ppl_error").GetDouble(),
            exact.GetProperty("chunk_nll_sum").EnumerateArray().Select(v => v.GetDouble()).ToArray(),
            result.GetProperty("ppl_kv_f32").GetDouble(),
            result.GetProperty("ppl_error_kv_f32").GetDouble());
    }

    private static string ReadText()
    {
        string text = File.ReadAllText(TextPath);
        return text.EndsWith('\n') ? text[..^1] : text;
    }
}
