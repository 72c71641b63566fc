using System.Globalization;
using System.Text;
using LlamaAot.Conversion;
using LlamaAot.Diagnostics;
using LlamaAot.Files;
using LlamaAot.Gguf;

namespace LlamaAot.Cli;

/// <summary>
/// Turns exceptions into one clear line on standard error; never a stack trace, and never a framework exception's
/// message alone: the line says first what happened, in the project's words.
/// </summary>
internal static class Errors
{
    /// <param name="command">The command that failed: memory advice mentions -c only where there is a context to shrink.</param>
    public static int Report(Exception e, System.CommandLine.Command command)
    {
        try
        {
            Console.Out.Flush();
        }
        catch (StandardOutputException)
        {
            // Already failing to write standard output: the error below says why the run failed.
        }
        while (e is TypeInitializationException { InnerException: { } inner })
            e = inner;
        string message = e switch
        {
            FileNotFoundException f => f.FileName is { } name ? $"file not found: {Excerpt.Path(name)}" : $"file not found ({f.Message})",
            UsageException or InputException or StandardOutputException => e.Message,
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
            DirectoryNotFoundException d => $"no such directory ({d.Message})",
            UnauthorizedAccessException u => $"permission denied ({u.Message})",
            IOException io => $"input/output error ({io.Message})",
            _ => $"internal error ({e.GetType().Name}): {e.Message}",
        };
        Console.Error.WriteLine($"error: {OneLine(message)}");
        return e is UsageException ? ExitCodes.Usage : ExitCodes.Failed;
    }

    /// <summary>The message on one line, control characters (from a corrupt file, say) shown as \xNN escapes.</summary>
    private static string OneLine(string s)
    {
        var b = new StringBuilder(s.Length);
        foreach (char c in s.ReplaceLineEndings(" ").Trim())
        {
            if (char.IsControl(c))
                b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            else
                b.Append(c);
        }
        return b.ToString();
    }
}

/// <summary>A bad combination or value of command-line arguments, found after parsing (exit 2).</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A file the run cannot use, said in the project's words (exit 1).</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>Checks a file a command reads before it is opened, so that a problem is named plainly.</summary>
internal static class InputFiles
{
    /// <summary>Throws when <paramref name="path"/> is a directory, does not exist or cannot be read.</summary>
    /// <param name="what">What the file is for, as the message says it ("model", "prompt").</param>
    public static void Check(string path, string what)
    {
        if (Directory.Exists(path))
            throw new InputException($"{Excerpt.Path(path)} is a directory, not a {what} file");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{what} file not found: {path}", path);
        try
        {
            File.OpenHandle(path).Dispose();
        }
        catch (UnauthorizedAccessException)
        {
            throw new InputException($"permission denied: {Excerpt.Path(path)} (the {what} file cannot be read)");
        }
    }
}
