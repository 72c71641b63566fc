using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using LlamaAot.Model;

namespace LlamaAot.Cli.Commands;

/// <summary>The options several commands share, with llama.cpp's names and defaults.</summary>
internal static class CommonOptions
{
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

    public static Option<int> Threads() => new("--threads", "-t")
    {
        Description = "Threads for generation (default: the number of physical cores).",
        HelpName = "N",
        Validators = { Positive },
    };

    public static Option<int> ContextSize(int fallback) => new("--ctx-size", "-c")
    {
        Description = $"Size of the context in tokens; 0 = the model's training context.",
        HelpName = "N",
        DefaultValueFactory = _ => fallback,
        Validators = { NotNegative },
    };

    public static Option<int> BatchSize() => new("--ubatch-size", "-ub", "--batch-size", "-b")
    {
        Description = "Most prompt tokens evaluated in one forward pass.",
        HelpName = "N",
        DefaultValueFactory = _ => 512,
        Validators = { Positive },
    };

    public static Option<string> CacheType(string name, string alias, string what) => new Option<string>(name, alias)
    {
        Description = $"Element type of the {what} cache: f16 or f32.",
        HelpName = "TYPE",
        DefaultValueFactory = _ => "f16",
    }.AcceptOnlyFromAmong("f16", "f32");

    public static Option<bool> FlashAttention() => new("--flash-attn", "-fa")
    {
        Description = "Flash attention: an online softmax in one pass over the KV cache (off: llama.cpp's exact rounding without it).",
    };

    public static Option<bool> Verbose() => new("--verbose")
    {
        Description = "Print model metadata and, for every weight tensor, the kernel that serves it.",
    };

    public static KvCacheType ParseCacheType(string value) => value == "f32" ? KvCacheType.F32 : KvCacheType.F16;

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
        if (!File.Exists(path))
            throw new FileNotFoundException($"{what} file not found: {path}", path);
        string content = File.ReadAllText(path);
        return content.EndsWith('\n') ? content[..^1] : content;
    }

    public static void Positive(OptionResult r)
    {
        if (r.Tokens.Count > 0 && r.GetValueOrDefault<int>() < 1)
            r.AddError($"{r.IdentifierToken?.Value} must be at least 1, not {r.Tokens[0].Value}");
    }

    public static void NotNegative(OptionResult r)
    {
        if (r.Tokens.Count > 0 && r.GetValueOrDefault<int>() < 0)
            r.AddError($"{r.IdentifierToken?.Value} must be 0 or more, not {r.Tokens[0].Value}");
    }

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
