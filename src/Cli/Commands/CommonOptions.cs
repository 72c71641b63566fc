using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LlamaAot.Model;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// The options several commands share, with llama.cpp's names, defaults and accepted values (common/arg.cpp of
/// llama.cpp 0.5.0). Every value is checked as it is parsed (<see cref="OptionValues"/>).
/// </summary>
internal static class CommonOptions
{
    private const string AnyInt = "an integer from -2147483648 to 2147483647";

    public static Option<string> Model() => new("--model", "-m")
    {
        Description = "Path of the GGUF model file.",
        HelpName = "FILE",
        Required = true,
    };

    public static Option<string?> Prompt() => new("--prompt", "-p")
    {
        Description = "Prompt text.",
        HelpName = "TEXT",
    };

    public static Option<string?> PromptFile() => new("--file", "-f")
    {
        Description = "Read the prompt from a file (one trailing newline is dropped, as in llama.cpp).",
        HelpName = "FILE",
    };

    /// <summary>llama.cpp's -t: 0 or less means every logical CPU; absent (0 here) means the physical cores.</summary>
    public static Option<int> Threads(string description = "Threads for generation") => new("--threads", "-t")
    {
        Description = $"{description} (default: the number of physical cores; 0 or less: every logical CPU; at most {OptionValues.MaxThreads}).",
        HelpName = "N",
        CustomParser = ThreadCount,
    };

    public static Option<int> ThreadsBatch() => new("--threads-batch", "-tb")
    {
        Description = "Threads for prompt processing (default: same as --threads; 0 or less: every logical CPU).",
        HelpName = "N",
        CustomParser = ThreadCount,
    };

    /// <summary>-c of run and logits: 0 (the default, as llama.cpp's) is the model's training context.</summary>
    public static Option<int> ContextSize() => new("--ctx-size", "-c")
    {
        Description = "Size of the context in tokens (default: 0 = the model's training context, as much of it as fits in memory).",
        HelpName = "N",
        CustomParser = OptionValues.Int(0, int.MaxValue, "an integer from 0 (the model's training context) to 2147483647"),
    };

    public static Option<string> CacheType(string name, string alias, string what) => new(name, alias)
    {
        Description = $"Element type of the {what} cache: f16 or f32.",
        HelpName = "TYPE",
        DefaultValueFactory = _ => "f16",
        CustomParser = OptionValues.OneOf("f16", "f32"),
    };

    /// <summary>llama.cpp's -fa on|off|auto; the flag alone is on. Auto is llama-aot's default: off.</summary>
    public static Option<OnOff> FlashAttention() => new("--flash-attn", "-fa")
    {
        Description = "Flash attention: on, off or auto (= off, the default: llama.cpp's exact rounding without it); the flag alone is on.",
        HelpName = "on|off|auto",
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = OptionValues.OnOffAuto,
    };

    /// <summary>llama.cpp's -ngl, taken so its command lines run: llama-aot has no GPU offload.</summary>
    public static Option<string?> GpuLayers() => new("--n-gpu-layers", "-ngl", "--gpu-layers")
    {
        Description = "Layers to offload to a GPU in llama.cpp (a number, auto or all): accepted and ignored, llama-aot runs on the CPU.",
        HelpName = "N",
        CustomParser = r => r.Tokens[0].Value is "auto" or "all"
            ? r.Tokens[0].Value
            : OptionValues.Int(int.MinValue, int.MaxValue, $"{AnyInt}, auto or all")(r).ToString(CultureInfo.InvariantCulture),
    };

    public static Option<bool> Verbose() => new("--verbose")
    {
        Description = "Print model metadata and, for every weight tensor, the kernel that serves it.",
    };

    public static KvCacheType ParseCacheType(string value) => value == "f32" ? KvCacheType.F32 : KvCacheType.F16;

    /// <summary>Says once that -ngl has no effect, naming the flag as it was typed.</summary>
    public static void NoteGpuLayers(ParseResult p, Option<string?> gpuLayers)
    {
        if (p.GetResult(gpuLayers) is { IdentifierToken: { } flag })
            Log.Info($"{flag.Value} {p.GetValue(gpuLayers)} ignored: llama-aot runs on the CPU");
    }

    /// <summary>The prompt from -p or -f (not both); empty when neither is given (generation starts from BOS).</summary>
    public static string ReadPrompt(ParseResult p, Option<string?> prompt, Option<string?> file)
    {
        string? text = p.GetValue(prompt), path = p.GetValue(file);
        if (text is not null && path is not null)
            throw new UsageException("give the prompt with -p or -f, not both");
        return path is null ? text ?? "" : ReadTextFile(path, "prompt");
    }

    /// <summary>A text file as llama.cpp's -f reads it: the whole file, one trailing newline dropped.</summary>
    public static string ReadTextFile(string path, string what)
    {
        InputFiles.Check(path, what);
        string content = File.ReadAllText(path);
        return content.EndsWith('\n') ? content[..^1] : content;
    }

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    // llama.cpp: "if (n_threads <= 0) n_threads = std::thread::hardware_concurrency()"; GGML_MAX_N_THREADS above.
    private static int ThreadCount(ArgumentResult r)
    {
        int n = OptionValues.Int(int.MinValue, OptionValues.MaxThreads, $"an integer up to {OptionValues.MaxThreads} (0 or less: every logical CPU)")(r);
        return n > 0 ? n : Math.Min(Environment.ProcessorCount, OptionValues.MaxThreads);
    }
}
