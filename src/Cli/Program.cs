using System.CommandLine;
using System.CommandLine.Invocation;
using LlamaAot.Diagnostics;
using LlamaAot.Cli.Commands;

namespace LlamaAot.Cli;

/// <summary>
/// Entry point: parses the command line (llama.cpp's flag names), runs the command, and turns every failure into
/// one line on standard error and a non-zero exit code: 1 for a failed run, 2 for a bad command line.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        StandardStreams.Install();
        var root = new RootCommand("llama-aot: run llama-family GGUF models on the CPU. One self-contained binary: generate, inspect logits and tokens, convert and quantize models, measure perplexity and speed.");
        RunCommand.Configure(root);
        root.Add(RunCommand.Create());
        root.Add(RunCommand.CreateChat());
        root.Add(LogitsCommand.Create());
        root.Add(BenchCommand.Create());
        root.Add(ConvertCommand.Create());
        root.Add(QuantizeCommand.Create());
        root.Add(PerplexityCommand.Create());
        root.Add(TokenizeCommand.Create());
        root.Add(ApplyTemplateCommand.Create());
        root.Add(ServeCommand.Create());

        // llama.cpp's flags include multi-letter single-dash names (-ctk, -tb): never read them as bundles.
        var parse = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false });
        if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction)
        {
            string message = QuoteArguments(parse.Errors[0].Message, args).ReplaceLineEndings(" ").Replace("  ", " ").Trim();
            Console.Error.WriteLine($"error: {message} (run 'llama-aot --help' for usage)");
            return ExitCodes.Usage;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Errors.Report(e, parse.CommandResult.Command);
        }
    }

    /// <summary>
    /// System.CommandLine's messages quote the argument they are about whole ("Unrecognized command or argument
    /// '...'"): a 20,000-character value made a 20 KB error line. Each argument quoted there is shown as
    /// <see cref="Excerpt.Quote"/> shows it: cut short, control characters escaped.
    /// </summary>
    private static string QuoteArguments(string message, string[] args)
    {
        foreach (string a in args.Distinct().OrderByDescending(a => a.Length))
        {
            string quoted = Excerpt.Quote(a);
            if (quoted != $"'{a}'")
                message = message.Replace($"'{a}'", quoted, StringComparison.Ordinal);
        }
        return message;
    }
}

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;
}
