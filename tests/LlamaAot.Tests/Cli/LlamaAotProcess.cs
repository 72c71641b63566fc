using System.Diagnostics;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// Runs the llama-aot command as a user would: the published NativeAOT binary when LLAMA_AOT_BINARY names it
/// (test.sh publishes it first), else the JIT build of src/Cli from this configuration.
/// </summary>
internal static class LlamaAotProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static string Binary { get; } = Locate();

    public static Result Run(params string[] args) => Run(args, null);

    public static Result Run(string[] args, IDictionary<string, string>? environment) => RunBinary(Binary, args, environment);

    /// <summary>
    /// Runs llama-aot through <c>sh -c 'exec llama-aot ARGS REDIRECTIONS'</c>, so its standard streams can be closed
    /// (<c>2&gt;&amp;-</c>) or sent where writing fails (<c>&gt;/dev/full</c>); a stream not redirected is captured.
    /// </summary>
    public static Result RunRedirected(string redirections, params string[] args) =>
        RunBinary("/bin/sh", ["-c", $"exec \"$0\" \"$@\" {redirections}", Binary, .. args]);

    /// <summary>Runs llama-aot as another user (through setpriv), with no capabilities: for permission checks as root.</summary>
    public static Result RunAs(int uid, params string[] args) =>
        RunBinary("setpriv", [$"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", Binary, .. args]);

    public static Result RunBinary(string binary, string[] args, IDictionary<string, string>? environment = null)
    {
        var (exitCode, stdout, stderr) = RunBytes(binary, args, environment);
        return new Result(exitCode, System.Text.Encoding.UTF8.GetString(stdout), stderr);
    }

    /// <summary>Runs llama-aot and returns its standard output as the bytes it wrote (output that need not be UTF-8).</summary>
    public static (int ExitCode, byte[] Stdout, string Stderr) RunBytes(params string[] args) => RunBytes(Binary, args, null);

    private static (int ExitCode, byte[] Stdout, string Stderr) RunBytes(string binary, string[] args, IDictionary<string, string>? environment)
    {
        using var process = Process.Start(StartInfo(binary, args, environment))!;
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"llama-aot {string.Join(' ', args)} did not finish in 2 minutes");
        }
        copy.Wait();
        return (process.ExitCode, stdout.ToArray(), stderr.Result);
    }

    /// <summary>Starts llama-aot and returns at once (standard output and error redirected, to be read by the caller).</summary>
    public static Process Start(params string[] args) => Process.Start(StartInfo(Binary, args, null))!;

    private static ProcessStartInfo StartInfo(string binary, string[] args, IDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Shared.Root,
        };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
                start.Environment[key] = value;
        }
        return start;
    }

    private static string Locate()
    {
        string? published = Environment.GetEnvironmentVariable("LLAMA_AOT_BINARY");
        if (!string.IsNullOrEmpty(published))
            return File.Exists(published) ? published : throw new FileNotFoundException($"LLAMA_AOT_BINARY={published} does not exist");
        // tests/LlamaAot.Tests/bin/<Configuration>/net10.0/ -> src/Cli/bin/<Configuration>/net10.0/llama-aot
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = dir.Parent!.Name, framework = dir.Name;
        string root = dir.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        string built = Path.Combine(root, "src", "Cli", "bin", configuration, framework, "llama-aot");
        return File.Exists(built) ? built : throw new FileNotFoundException($"llama-aot is not built at {built}");
    }
}
