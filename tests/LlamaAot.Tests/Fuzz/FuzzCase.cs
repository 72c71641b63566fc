using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using LlamaAot.Tests.Cli;

namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// Runs one fuzz case, the llama-aot binary on a command line in the case's directory, under GNU time for its peak
/// memory, and judges the outcome: success, or exit 1 or 2 with one readable <c>error:</c> line; never a signal, an
/// unhandled exception, a stack trace, a framework resource key, a hang, or memory beyond the inputs plus a bound.
/// </summary>
internal static partial class FuzzCase
{
    /// <summary>A case that takes longer than this is taken for a hang (a normal case takes well under a second).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Memory a case may use beyond its seed's own peak and twice its input files.</summary>
    public const long MemoryBoundBytes = 128L << 20;

    /// <summary>An error line longer than this is not one line a person reads (a dumped string, a long listing).</summary>
    public const int LongestErrorLine = 400;

    private const string GnuTime = "/usr/bin/time";

    public sealed record Outcome(int ExitCode, string Stderr, long PeakBytes, bool TimedOut, string? Signal);

    public static Outcome Run(string caseDir, string[] args)
    {
        if (!File.Exists(GnuTime))
            throw new InvalidOperationException($"the fuzz test needs GNU time at {GnuTime} (Debian package 'time'): apt-get install time");
        string rssFile = Path.Combine(caseDir, ".peak-rss");
        var start = new ProcessStartInfo(GnuTime)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = caseDir,
        };
        foreach (string a in (string[])["-q", "-f", "%M %x", "-o", rssFile, LlamaAotProcess.Binary, .. args])
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new Outcome(-1, stderr.Result, 0, true, null);
        }
        stdout.Wait();
        // GNU time writes "Command terminated by signal N" before its format line when the command was killed.
        string[] report = File.Exists(rssFile) ? File.ReadAllLines(rssFile) : [];
        string? signal = report.FirstOrDefault(l => l.StartsWith("Command terminated by signal", StringComparison.Ordinal));
        long peak = 0;
        var last = report.LastOrDefault()?.Split(' ');
        if (last is { Length: 2 } && long.TryParse(last[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kb))
            peak = kb * 1024;
        return new Outcome(process.ExitCode, stderr.Result, peak, false, signal);
    }

    /// <summary>What is wrong with <paramref name="o"/>, or null when it is a success or a clean error.</summary>
    public static string? Judge(Outcome o, long memoryLimit)
    {
        if (o.TimedOut)
            return $"no answer in {Timeout.TotalSeconds:0} s (a hang?)";
        if (o.Signal is not null)
            return o.Signal.ToLowerInvariant();
        if (o.PeakBytes > memoryLimit)
            return $"peak memory {o.PeakBytes >> 20} MiB, over the bound of {memoryLimit >> 20} MiB";
        var lines = o.Stderr.Split('\n');
        if (lines.Any(l => l.StartsWith("   at ", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal)))
            return $"exit {o.ExitCode} with a stack trace";
        if (o.ExitCode == 0)
            return null;
        if (o.ExitCode is not (1 or 2))
            return $"exit {o.ExitCode}";
        var errors = lines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        if (errors.Count != 1)
            return $"exit {o.ExitCode} with {errors.Count} 'error:' lines";
        string error = errors[0];
        // The CLI's catch-all for an exception no code expected: readable, but an unhandled exception all the same.
        if (error.StartsWith("error: internal error", StringComparison.Ordinal))
            return "an unexpected exception (\"internal error\")";
        if (error.Length > LongestErrorLine)
            return $"an error line of {error.Length} characters";
        if (error.Any(c => char.IsControl(c) && c != '\t' || c == '\uFFFD'))
            return "control characters or undecodable bytes in the error line";
        if (ResourceKey().Match(error) is { Success: true } key)
            return $"a framework resource key in the error line ({key.Value})";
        return null;
    }

    /// <summary>
    /// A .NET resource key shown instead of its message (UseSystemResourceKeys), e.g. IO_PathNotFound_Path,
    /// Arg_ParamName_Name, UnauthorizedAccess_IODenied_NoPathName: a capitalized word, an underscore, then a word with a
    /// lowercase letter. Quant names (Q4_K, IQ4_NL) and environment variables (LLAMA_AOT_ISA) do not match.
    /// </summary>
    [GeneratedRegex(@"\b[A-Z][A-Za-z]*_[A-Z][A-Za-z]*[a-z][A-Za-z]*\b")]
    private static partial Regex ResourceKey();
}
