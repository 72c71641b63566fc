using LlamaAot.Kernels;
using LlamaAot.Model;

namespace LlamaAot.Tests.Model;

/// <summary>
/// Logits at every prompt position against llama.cpp's (../shared/reference/stories260K), the whole prompt in one
/// batch as in the reference dumps. Runs on every kernel path (test.sh reruns the Isa category with AVX-512 and AVX2
/// switched off).
/// </summary>
[Trait("Category", "Isa")]
public class ReferenceLogitsTests
{
    /// <summary>
    /// The largest difference each type is allowed, set just above what llama-aot achieves (issue bound: 1e-3 for
    /// F32 with an F32 KV cache, 0.6 for the rest). Measured max |dlogit| over the three prompts:
    /// F32 kv-f32 7.4e-6; with the default F16 cache: F32 4.9e-4, F16 1.1e-2, BF16 2.8e-6, Q8_0 3.9e-6, Q4_0 2.8e-6,
    /// IQ4_NL / IQ4_XS / Q2_K (all three hold IQ4_NL blocks here) 2.9e-6.
    /// Quantized types agree to float rounding because llama-aot rounds activations exactly as llama.cpp does (Q8_0
    /// blocks with 127/amax and round-to-even, F16/BF16 rounding before F16/BF16 products). F16 differs most because
    /// llama.cpp's own batched F16 path differs from its one-token path by up to 9e-3 (the dumps'
    /// max_abs_diff_vs_one_token_at_a_time); F32 with an F16 cache because a last-bit difference before rounding
    /// q or the softmax to half can flip the half rounding. The AVX2 path measures the same as AVX-512.
    /// </summary>
    public static readonly Dictionary<string, double> Tolerance = new()
    {
        ["F32/kv-f32"] = 5e-5,
        ["F32"] = 2e-3,
        ["F16"] = 2e-2,
        ["BF16"] = 1e-4,
        ["Q8_0"] = 1e-4,
        ["Q4_0"] = 1e-4,
        ["IQ4_NL"] = 1e-4,
        ["IQ4_XS"] = 1e-4,
        ["Q2_K"] = 1e-4,
        // Q4_1, Q5_0, Q5_1: 3.7e-6, 2.8e-6, 2.4e-6 (their AVX-512 kernels return llama.cpp's floats bit for bit).
        ["Q4_1"] = 1e-4,
        ["Q5_0"] = 1e-4,
        ["Q5_1"] = 1e-4,
        // Q5_0 or Q5_1 with Q8_0 (output, two attn_v) and F16 (ffn_down): 0.109 and 0.248, each from one activation
        // that a last-bit difference outside the Q5 kernels rounds the other way (Q5_0 alone: 2.8e-6).
        ["Q4_K_M"] = 0.2,
        ["Q5_K_M"] = 0.3,
        // Q3_K_M (IQ4_NL, Q5_0, Q5_1, Q8_0, F16 here): 0.049, one activation rounded the other way again;
        // Q6_K (all Q8_0 here): 3.9e-6.
        ["Q3_K_M"] = 0.1,
        ["Q6_K"] = 1e-4,
    };

    /// <summary>
    /// On AVX2, Q4_1 and Q5_1 add their offset terms inside the lane sums instead of after them as llama.cpp does (no
    /// spare lane), so some dot products differ in the last bit and an activation now and then rounds the other
    /// way. Measured: Q4_1 0.178, Q5_1 0.083; the rest as above.
    /// </summary>
    public static readonly Dictionary<string, double> Avx2Tolerance = new()
    {
        ["Q4_1"] = 0.25,
        ["Q5_1"] = 0.15,
    };

    /// <summary>
    /// The AVX2 and portable paths sum floats in other orders (8 or 4 lanes, the portable one without FMA); where a
    /// last-bit difference moves a value across a rounding boundary of a low-precision value (q or the softmax to
    /// half, an activation to bfloat16), logits move more. Measured: F32 5.4e-3 (AVX2; q or a weight rounded to the other
    /// half neighbour at one position), F16 1.9e-2, BF16 4.5e-2 (portable); the rest as above.
    /// </summary>
    public static readonly Dictionary<string, double> OtherPathTolerance = new()
    {
        ["F32"] = 1e-2,
        ["F16"] = 3e-2,
        ["BF16"] = 1e-1,
        ["Q4_1"] = 0.15,   // measured 0.108
        ["Q5_1"] = 0.15,   // 0.089
        ["Q4_K_M"] = 0.2,  // 0.142
    };

    /// <summary>
    /// With flash attention (-fa) the softmax is taken online, so the weights are not rounded to half where
    /// llama.cpp (without flash attention, as in the references) rounds them; the quantized types then see slightly
    /// different activations before their 8-bit rounding, which the logits amplify. Measured: F32 kv-f32 9.2e-6,
    /// F32 8.9e-3, F16 1.9e-2, BF16 9.0e-2, Q8_0 0.28, Q4_0 0.26, IQ4_NL / IQ4_XS / Q2_K 0.28 (the issue bound: 0.6).
    /// </summary>
    public static readonly Dictionary<string, double> FlashTolerance = new()
    {
        ["F32/kv-f32"] = 5e-5,
        ["F32"] = 2e-2,
        ["F16"] = 5e-2,
        ["BF16"] = 0.2,
        ["Q8_0"] = 0.4,
        ["Q4_0"] = 0.4,
        ["IQ4_NL"] = 0.4,
        ["IQ4_XS"] = 0.4,
        ["Q2_K"] = 0.4,
        // Measured (AVX-512): Q4_1 0.37, Q5_0 0.23, Q5_1 0.26, Q4_K_M 0.31, Q5_K_M 0.30.
        ["Q4_1"] = 0.5,
        ["Q5_0"] = 0.5,
        ["Q5_1"] = 0.5,
        ["Q4_K_M"] = 0.5,
        ["Q5_K_M"] = 0.5,
        ["Q3_K_M"] = 0.5, // measured 0.28
        ["Q6_K"] = 0.5,   // 0.28
    };

    /// <summary>Where llama.cpp's top-1 leads its top-2 by more than this, llama-aot must pick the same argmax.</summary>
    private const float ClearLead = 0.6f;

    public static TheoryData<string, string, bool> Cases()
    {
        var data = new TheoryData<string, string, bool>();
        foreach (string prompt in ReferenceCase.Stories260KPrompts)
        {
            data.Add("F32", prompt, true);
            foreach (string type in new[] { "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "IQ4_NL", "IQ4_XS", "Q2_K", "Q3_K_M", "Q6_K" })
                data.Add(type, prompt, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesLlamaCpp(string type, string prompt, bool kvF32) => Compare(type, prompt, kvF32, flash: false);

    [Theory]
    [MemberData(nameof(Cases))]
    public void FlashAttentionStaysClose(string type, string prompt, bool kvF32) => Compare(type, prompt, kvF32, flash: true);

    private static void Compare(string type, string prompt, bool kvF32, bool flash)
    {
        var reference = ReferenceCase.Load(ReferenceCase.Stories260KPath(type, prompt, kvF32));
        using var model = LlamaModel.Load(Shared.Stories260K(type));
        var cache = kvF32 ? KvCacheType.F32 : KvCacheType.F16;
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1, KeyCacheType = cache, ValueCacheType = cache, FlashAttention = flash });
        Assert.Equal(reference.Tokens, model.Tokenize(reference.Prompt));

        float[] logits = context.EvaluateAll(reference.Tokens).ToArray();

        string key = kvF32 ? type + "/kv-f32" : type;
        double tolerance = flash ? FlashTolerance[key] : KernelIsas.Best switch
        {
            KernelIsa.Avx2 when Avx2Tolerance.TryGetValue(key, out double a) => a,
            not KernelIsa.Avx512 when OtherPathTolerance.TryGetValue(key, out double p) => p,
            _ => Tolerance[key],
        };
        int nVocab = model.Config.NVocab;
        for (int t = 0; t < reference.Tokens.Length; t++)
        {
            var actual = logits.AsSpan(t * nVocab, nVocab);
            var expected = reference.Logits[t];
            double worst = 0;
            int worstAt = 0;
            for (int i = 0; i < nVocab; i++)
            {
                double d = Math.Abs(actual[i] - expected[i]);
                if (d > worst)
                    (worst, worstAt) = (d, i);
            }
            Assert.True(worst <= tolerance, $"position {t}: logit {worstAt} is {actual[worstAt]}, llama.cpp {expected[worstAt]} (|d| {worst:G3} > {tolerance:G3})");
            var (top1, top2) = TopTwo(expected);
            if (expected[top1] - expected[top2] > ClearLead)
                Assert.Equal(top1, TopTwo(actual).Top1);
        }
    }

    /// <summary>
    /// Largest difference per random-e256 file (rows of 256 and 768: real K-quant blocks), F32 KV cache; the issue's
    /// bound is 0.05. Measured max |dlogit| over both prompts with the published binary (`llama-aot logits -t 1 -ctk
    /// f32 -ctv f32`, LLAMA_AOT_ISA = avx512 / avx2 / portable):
    /// F32 3.3e-7 / 4.2e-7 / 5.4e-7; F16 3.8e-4 / 3.7e-4 / 4.2e-4; BF16 3.0e-3 / 1.7e-4 / 3.0e-3;
    /// Q8_0 8.6e-3 / 3.8e-3 / 3.8e-3; Q4_0 5e-8 / 1.3e-2 / 3e-7; Q4_1 4e-8 / 1.2e-2 / 1.1e-2;
    /// Q5_0 1.1e-2 on all three; Q5_1 5e-8 / 3.8e-7 / 3.1e-7; Q2_K 8.2e-3 / 3.6e-7 / 8.2e-3;
    /// Q3_K_M 4.5e-7 / 5e-7 / 4.5e-7; Q4_K_M 1.1e-2 / 1.2e-2 / 1.1e-2; Q5_K_M 1.3e-3 / 9.8e-3 / 1.5e-2;
    /// Q6_K 2.4e-7 / 2.4e-7 / 3.0e-7; IQ4_NL 3.5e-7 / 3.5e-7 / 4.1e-7; IQ4_XS 2.4e-7 / 2.6e-7 / 3.5e-7.
    /// The ~1e-2 ones are single positions where one activation lands on the other side of a Q8_0/Q8_K rounding
    /// step after a last-bit difference upstream (which path shows one is a matter of luck, so the bound for each
    /// type that quantizes activations allows one); llama.cpp's own batch and one-token results differ by 0.011
    /// for Q4_K_M. A wrong kernel misses by far more than 0.05.
    /// </summary>
    public static readonly Dictionary<string, double> RandomE256Tolerance = new()
    {
        ["F32"] = 1e-5,
        ["F16"] = 1e-3,
        ["BF16"] = 1e-2,
        ["Q8_0"] = 3e-2,
        ["Q4_0"] = 3e-2,
        ["Q4_1"] = 3e-2,
        ["Q5_0"] = 3e-2,
        ["Q5_1"] = 3e-2,
        ["Q2_K"] = 3e-2,
        ["Q3_K_M"] = 3e-2,
        ["Q4_K_M"] = 3e-2,
        ["Q5_K_M"] = 3e-2,
        ["Q6_K"] = 3e-2,
        ["IQ4_NL"] = 3e-2,
        ["IQ4_XS"] = 3e-2,
    };

    public static TheoryData<string, string> RandomE256Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string type in RandomE256Tolerance.Keys)
        {
            foreach (string prompt in ReferenceCase.RandomE256Prompts)
                data.Add(type, prompt);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RandomE256Cases))]
    public void MatchesLlamaCppOnRandomE256(string type, string prompt)
    {
        var reference = ReferenceCase.Load(ReferenceCase.RandomE256KvF32Path(type, prompt));
        using var model = LlamaModel.Load(Path.Combine(Shared.Models, "random-e256", $"random-e256-l2-{type}.gguf"));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32 });
        Assert.Equal(reference.Tokens, model.Tokenize(reference.Prompt));

        float[] logits = context.EvaluateAll(reference.Tokens).ToArray();

        int nVocab = model.Config.NVocab;
        for (int t = 0; t < reference.Tokens.Length; t++)
        {
            double worst = 0;
            int worstAt = 0;
            for (int i = 0; i < nVocab; i++)
            {
                double d = Math.Abs(logits[t * nVocab + i] - reference.Logits[t][i]);
                if (d > worst)
                    (worst, worstAt) = (d, i);
            }
            Assert.True(worst <= RandomE256Tolerance[type],
                $"{type} position {t}: logit {worstAt} is {logits[t * nVocab + worstAt]}, llama.cpp {reference.Logits[t][worstAt]} (|d| {worst:G3})");
        }
    }

    [Fact]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        var reference = ReferenceCase.Load(ReferenceCase.Stories260KPath("Q4_0", "lily-tom-park", kvF32: false));
        using var model = LlamaModel.Load(Shared.Stories260K("Q4_0"));
        float[] Run(int threads)
        {
            using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = threads });
            return context.EvaluateAll(reference.Tokens).ToArray();
        }
        Assert.Equal(Run(1), Run(2));
        Assert.Equal(Run(1), Run(3));
    }

    [Fact]
    public void OneTokenAtATimeAgreesWithTheBatch()
    {
        var reference = ReferenceCase.Load(ReferenceCase.Stories260KPath("F32", "lily-tom-park", kvF32: true));
        using var model = LlamaModel.Load(Shared.Stories260K("F32"));
        var options = new ContextOptions { ContextSize = 128, Threads = 1, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32 };
        using var batch = model.CreateContext(options);
        float[] all = batch.EvaluateAll(reference.Tokens).ToArray();
        using var single = model.CreateContext(options);
        int nVocab = model.Config.NVocab;
        for (int t = 0; t < reference.Tokens.Length; t++)
        {
            float[] one = single.Evaluate([reference.Tokens[t]]).ToArray();
            for (int i = 0; i < nVocab; i++)
                Assert.True(Math.Abs(one[i] - all[t * nVocab + i]) < 5e-5, $"position {t} logit {i}: {one[i]} one at a time, {all[t * nVocab + i]} batched");
        }
    }

    internal static (int Top1, int Top2) TopTwo(ReadOnlySpan<float> logits)
    {
        int a = 0, b = -1;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[a])
                (a, b) = (i, a);
            else if (b < 0 || logits[i] > logits[b])
                b = i;
        }
        return (a, b);
    }
}
