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

    /// <summary>The settings of every comparison: context 256, one thread, flash attention off, F32 KV cache.</summary>
    public static ModelParams Parameters(string modelPath)
    {
        Configure();
        return new ModelParams(modelPath)
        {
            ContextSize = 256,
            Threads = 1,
            BatchThreads = 1,
            FlashAttention = false,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
        };
    }

    public static float[][] Logits(string modelPath, string prompt, out int[] tokens)
    {
        var p = Parameters(modelPath);
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
    /// Greedy decoding (<see cref="LlamaCppModel.Greedy"/>) of the prompt with BOS added and special tokens not
    /// parsed, end-of-sequence chosen like any token.
    /// </summary>
    public static int[] Greedy(string modelPath, string prompt, int count)
    {
        using var model = new LlamaCppModel(modelPath);
        return model.Greedy(model.Tokenize(prompt, addSpecial: true, parseSpecial: false), count, ignoreEndOfGeneration: false).Ids;
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
