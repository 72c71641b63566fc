using LlamaAot.Model;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>llama-aot's side of a logits comparison, in the settings of <see cref="LlamaCpp.Logits"/>.</summary>
internal static class LlamaAotLogits
{
    /// <summary>
    /// The largest |logit difference| over every position between llama-aot on <paramref name="path"/> (context 256,
    /// F32 cache, the prompt in one batch) and llama.cpp's <paramref name="expected"/>; the prompt must tokenize to
    /// llama.cpp's <paramref name="tokens"/>.
    /// </summary>
    public static double MaxDifference(string path, string prompt, int[] tokens, float[][] expected, int threads)
    {
        using var model = LlamaModel.Load(path);
        Assert.Equal(tokens, model.Tokenize(prompt));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = threads, KeyCacheType = KvCacheType.F32, ValueCacheType = KvCacheType.F32 });
        float[] actual = context.EvaluateAll(tokens).ToArray();
        int nVocab = model.Config.NVocab;
        double worst = 0;
        for (int t = 0; t < tokens.Length; t++)
            for (int i = 0; i < nVocab; i++)
                worst = Math.Max(worst, Math.Abs(actual[t * nVocab + i] - expected[t][i]));
        return worst;
    }
}
