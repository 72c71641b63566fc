using LlamaAot.Gguf;
using LlamaAot.Kernels;

namespace LlamaAot.Cli.Commands;

/// <summary>What the CLI says on standard error about a loaded model and its context.</summary>
internal static class ModelReport
{
    /// <summary>Loads a model, after checking its file so that a missing or unreadable one is named plainly.</summary>
    public static LlamaModel Load(string path)
    {
        InputFiles.Check(path, "model");
        return LlamaModel.Load(path);
    }

    public static void Loaded(LlamaModel model, TimeSpan loadTime, bool verbose)
    {
        var c = model.Config;
        var choices = model.KernelChoices().ToList();
        string mostly = choices.GroupBy(k => k.Type).OrderByDescending(g => g.Count()).First().Key.ToString();
        Log.Info($"model {Path.GetFileName(model.Path)}: {c.Architecture}, {Log.Count(model.ParameterCount)} params, mostly {mostly}, {Log.Bytes(model.FileSize)}");
        Log.Info($"n_vocab {c.NVocab}, n_embd {c.NEmbd}, n_layer {c.NLayer}, n_head {c.NHead}, n_head_kv {c.NHeadKv}, n_ff {c.NFf}, n_rot {c.NRot}, n_ctx_train {c.NCtxTrain}");
        Log.Info($"kernels {KernelIsas.Describe(model.Isa)}: {choices.Count(k => k.Specialized)} of {choices.Count} weight matrices on shape-specialized kernels");
        Log.Info($"loaded in {Log.F(loadTime.TotalMilliseconds)} ms");
        if (!verbose)
            return;
        foreach (string key in model.Metadata.Keys)
        {
            var v = model.Metadata[key];
            Log.Info($"  meta {key} = {Shorten(v.ToString())}");
        }
        foreach (var k in choices)
            Log.Info($"  kernel {k.Tensor} {k.Type} K={k.K}: {k.Gemv} / {k.Gemm} ({(k.Specialized ? "specialized" : "generic")})");
    }

    /// <summary>The context's size and threads, and a word when it is not the model's training context.</summary>
    public static void Context(LlamaContext context, ContextOptions options)
    {
        string flash = options.FlashAttention ? ", flash attention" : "";
        Log.Info($"context {context.ContextSize} tokens, KV cache {options.KeyCacheType}/{options.ValueCacheType} {Log.Bytes(context.KvCacheBytes)}{flash}, threads {context.Threads} (prompt {context.BatchThreads}), batch {options.BatchSize}");
        ContextWarnings(context, options);
    }

    /// <summary>Says when the context is longer than the training context, or shorter than it for lack of memory.</summary>
    public static void ContextWarnings(LlamaContext context, ContextOptions options)
    {
        int trained = context.Model.Config.NCtxTrain;
        if (context.ContextSize > trained)
            Log.Info($"warning: the context ({context.ContextSize} tokens) is longer than the model was trained for ({trained})");
        else if (options.ContextSize == 0 && context.ContextSize < trained)
            Log.Info($"the model's training context ({trained} tokens) does not fit in half the available memory: using {context.ContextSize} (-c sets it)");
    }

    private static string Shorten(string s) => s.Length > 120 ? s[..117] + "..." : s;

    public static string TypeName(GgmlType t) => t.ToString();
}
