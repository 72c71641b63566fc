using LLama;
using LLama.Common;
using LLama.Native;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// llama.cpp in-process through LLamaSharp 0.30.0 (llama.cpp commit 815a2a591, its generic AVX-512 CPU build here):
/// evaluates a prompt in one batch and returns the logits at every position, with flash attention off and an F32 KV
/// cache, the settings under which llama.cpp's logits are the tightest reference.
/// </summary>
internal static class LlamaCpp
{
    private static readonly object Gate = new();
    private static bool s_configured;

    public static float[][] Logits(string modelPath, string prompt, out int[] tokens)
    {
        Configure();
        var p = new ModelParams(modelPath)
        {
            ContextSize = 256,
            Threads = 1,
            BatchThreads = 1,
            FlashAttention = false,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
        };
        using var weights = LLamaWeights.LoadFromFile(p);
        using var context = weights.CreateContext(p);
        var ids = context.Tokenize(prompt, addBos: true, special: false);
        tokens = ids.Select(t => (int)t).ToArray();
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Length; i++)
            batch.Add(ids[i], i, LLamaSeqId.Zero, true);
        var result = context.Decode(batch);
        if (result != DecodeResult.Ok)
            throw new InvalidOperationException($"llama_decode failed: {result}");
        return Enumerable.Range(0, ids.Length).Select(i => context.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>
    /// Greedy decoding as llama-cli does with --temp 0: the prompt (BOS added) in one batch, then
    /// <paramref name="count"/> tokens one at a time, each the argmax of the last logits (first maximum wins),
    /// end-of-sequence included like any token.
    /// </summary>
    public static int[] Greedy(string modelPath, string prompt, int count)
    {
        Configure();
        var p = new ModelParams(modelPath)
        {
            ContextSize = 256,
            Threads = 1,
            BatchThreads = 1,
            FlashAttention = false,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
        };
        using var weights = LLamaWeights.LoadFromFile(p);
        using var context = weights.CreateContext(p);
        var ids = context.Tokenize(prompt, addBos: true, special: false);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Length; i++)
            batch.Add(ids[i], i, LLamaSeqId.Zero, i == ids.Length - 1);
        var generated = new int[count];
        for (int step = 0; step < count; step++)
        {
            var result = context.Decode(batch);
            if (result != DecodeResult.Ok)
                throw new InvalidOperationException($"llama_decode failed: {result}");
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; v++)
            {
                if (logits[v] > logits[best])
                    best = v;
            }
            generated[step] = best;
            batch.Clear();
            batch.Add((LLamaToken)best, ids.Length + step, LLamaSeqId.Zero, true);
        }
        return generated;
    }

    private static void Configure()
    {
        lock (Gate)
        {
            if (s_configured)
                return;
            // Must happen before the first model is created; keeps llama.cpp's load chatter out of the test output.
            NativeLibraryConfig.All.WithLogCallback((level, message) => { });
            s_configured = true;
        }
    }
}
