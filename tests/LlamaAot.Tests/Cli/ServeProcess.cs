using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// <c>llama-aot serve</c> run as a user runs it (<see cref="LlamaAotProcess.Binary"/>), on 127.0.0.1 and a free port
/// the system picks (<c>--port 0</c>): its address is read from standard error, which is then drained, keeping the last
/// lines, so the server never blocks on a full pipe. Started means serving: GET /health answered 200. Killed when
/// disposed, unless it has exited.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private const int KeptLogLines = 40;

    private readonly Queue<string> _log = new();

    private ServeProcess(Process process) => Process = process;

    public Process Process { get; }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>
    /// Starts <c>llama-aot serve ARGS --host 127.0.0.1 --port 0</c> and waits until it serves, at most
    /// <paramref name="timeout"/>.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(TimeSpan timeout, params string[] args)
    {
        var serve = new ServeProcess(LlamaAotProcess.Start(["serve", .. args, "--host", "127.0.0.1", "--port", "0"]));
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            _ = serve.Process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
            serve.Address = await serve.ReadAddressAsync(cancel.Token);
            _ = serve.DrainLogAsync();
            using var http = new HttpClient { BaseAddress = serve.Address, Timeout = timeout };
            while (!await HealthyAsync(http, cancel.Token))
                await Task.Delay(50, cancel.Token);
            return serve;
        }
        catch (Exception e)
        {
            serve.Dispose();
            throw new InvalidOperationException($"llama-aot serve {string.Join(' ', args)} did not start serving: {e.Message}\n{serve.LogTail()}", e);
        }
    }

    /// <summary>Whether GET /health answers 200 (503 while the model loads).</summary>
    public static async Task<bool> HealthyAsync(HttpClient http, CancellationToken cancel)
    {
        using var response = await http.GetAsync("/health", cancel);
        return (int)response.StatusCode == 200;
    }

    /// <summary>Its resident memory (VmRSS).</summary>
    public long ResidentBytes() =>
        long.Parse(File.ReadLines($"/proc/{Process.Id}/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            CultureInfo.InvariantCulture) * 1024;

    /// <summary>The last lines it wrote on standard error (a line per request, and why it stopped).</summary>
    public string LogTail()
    {
        lock (_log)
            return string.Join('\n', _log);
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill();
            Process.WaitForExit();
        }
        Process.Dispose();
    }

    /// <summary>Reads standard error until the server says where it listens.</summary>
    private async Task<Uri> ReadAddressAsync(CancellationToken cancel)
    {
        while (await Process.StandardError.ReadLineAsync(cancel) is { } line)
        {
            Remember(line);
            if (Listening().Match(line) is { Success: true } m)
                return new Uri(m.Groups[1].Value);
        }
        throw new InvalidOperationException("it exited without listening");
    }

    private async Task DrainLogAsync()
    {
        while (await Process.StandardError.ReadLineAsync() is { } line)
            Remember(line);
    }

    private void Remember(string line)
    {
        lock (_log)
        {
            _log.Enqueue(line);
            if (_log.Count > KeptLogLines)
                _log.Dequeue();
        }
    }

    [GeneratedRegex(@"listening on (http://\S+/)")]
    private static partial Regex Listening();
}
