using LlamaAot.Conversion;
using LlamaAot.Files;
using LlamaAot.Gguf;

namespace LlamaAot.Cli;

/// <summary>Turns exceptions into one clear line on standard error; never a stack trace.</summary>
internal static class Errors
{
    /// <param name="command">The command that failed: memory advice mentions -c only where there is a context to shrink.</param>
    public static int Report(Exception e, System.CommandLine.Command command)
    {
        Console.Out.Flush();
        while (e is TypeInitializationException { InnerException: { } inner })
            e = inner;
        string message = e switch
        {
            FileNotFoundException f => $"file not found: {f.FileName ?? f.Message}",
            DirectoryNotFoundException d => d.Message,
            UsageException u => u.Message,
            OutputFileException o => o.Message,
            Tools.QuantizeException q => q.Message,
            GgufFormatException g => $"cannot load the model: {g.Message}",
            ConversionException c => $"cannot convert: {c.Message}",
            PlatformNotSupportedException p => p.Message,
            NotSupportedException n => $"not supported: {n.Message}",
            InsufficientMemoryException i => $"not enough memory: {i.Message}",
            OutOfMemoryException when command.Options.Any(o => o.Name == "--ctx-size") => "out of memory: an allocation failed; try a smaller context (-c) or model",
            OutOfMemoryException => "out of memory: an allocation failed; free memory or use a machine with more",
            ArgumentException a => a.Message,
            PromptTooLongException or ContextFullException or PerplexityTextTooShortException => e.Message,
            UnauthorizedAccessException or IOException => e.Message,
            _ => $"internal error ({e.GetType().Name}): {e.Message}",
        };
        Console.Error.WriteLine($"error: {OneLine(message)}");
        return e is UsageException ? ExitCodes.Usage : ExitCodes.Failed;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

/// <summary>A bad combination or value of command-line arguments, found after parsing.</summary>
internal sealed class UsageException(string message) : Exception(message);
