using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace LlamaAot.Bench;

/// <summary>
/// Serving throughput, llama-aot's <c>serve</c> and llama.cpp's llama-server side by side in one run (issue 14's
/// table): both started on loopback with the same file, <c>-np</c>, <c>-c</c> and threads, then, alternating between
/// them, one streamed completion alone and <c>-np</c> streamed completions at once (greedy, <c>ignore_eos</c>, the
/// same length, different short prompts). A row's rate is the tokens generated over the wall time from sending the
/// requests to the last <c>[DONE]</c>, the median of the repetitions; the target the issue sets is the concurrent
/// rate against min(np x one stream, pp512 of llama-aot's <c>bench</c> on the same file and threads).
/// <code>dotnet run -c Release --project bench/LlamaAot.Bench -- serve-throughput BINARY MODEL [--llama-server PATH] [--threads 2] [--parallel 4] [--tokens 128] [--repetitions 3] [--out DIR]</code>
/// </summary>
internal static class ServeThroughput
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2), RequestTimeout = TimeSpan.FromMinutes(10);

    public static int Run(string[] args)
    {
        var positional = args.TakeWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        if (positional.Count != 2)
        {
            Console.Error.WriteLine("usage: serve-throughput LLAMA_AOT_BINARY MODEL [--llama-server PATH] [--threads 2] [--parallel 4] [--tokens 128] [--repetitions 3] [--out DIR]");
            return 2;
        }
        string binary = positional[0], model = positional[1];
        int threads = int.Parse(SideBySide.Option(args, "--threads", "2"), CultureInfo.InvariantCulture);
        int parallel = int.Parse(SideBySide.Option(args, "--parallel", "4"), CultureInfo.InvariantCulture);
        int tokens = int.Parse(SideBySide.Option(args, "--tokens", "128"), CultureInfo.InvariantCulture);
        int repetitions = int.Parse(SideBySide.Option(args, "--repetitions", "3"), CultureInfo.InvariantCulture);
        string outDir = SideBySide.Option(args, "--out", Path.Combine("bench", "results", SideBySide.CpuSlug()));
        string? llamaServer = SideBySide.Option(args, "--llama-server", "") is { Length: > 0 } given ? Path.GetFullPath(given) : null;
        foreach (string file in new[] { binary, model }.Concat(llamaServer is null ? [] : [llamaServer]).Where(f => !File.Exists(f)))
        {
            Console.Error.WriteLine($"error: {file} does not exist (serve-throughput needs the llama-aot binary, the model and, with --llama-server, llama.cpp's llama-server)");
            return 2;
        }

        // Each slot holds a short prompt and the generated tokens, with room to spare; -c is the total, as for llama-server.
        int context = parallel * (tokens + 128);
        string[] common = ["-m", model, "--host", "127.0.0.1", "-np", $"{parallel}", "-c", $"{context}", "-t", $"{threads}"];
        var servers = new List<Server> { Server.Start("llama-aot", binary, ["serve", .. common]) };
        try
        {
            if (llamaServer is not null)
                servers.Add(Server.Start("llama-server", llamaServer, common));
            using var http = new HttpClient { Timeout = RequestTimeout };
            foreach (var server in servers)
            {
                server.WaitReady(http);
                Measure(http, server, 1, tokens); // warm-up
            }
            for (int r = 0; r < repetitions; r++)
            {
                foreach (var server in servers)
                {
                    server.Alone.Add(Measure(http, server, 1, tokens));
                    server.Together.Add(Measure(http, server, parallel, tokens));
                    Console.WriteLine($"{server.Name}: 1 stream {SideBySide.F(server.Alone[^1])} t/s, {parallel} streams {SideBySide.F(server.Together[^1])} t/s");
                }
            }
        }
        finally
        {
            foreach (var server in servers)
                server.Dispose();
        }
        double pp = Enumerable.Range(0, repetitions).Select(_ => SideBySide.RunBench(binary, ["bench"], model, threads).Pp).Order().ElementAt(repetitions / 2);
        string report = Report(binary, model, llamaServer, threads, parallel, tokens, repetitions, context, pp, servers);
        SideBySide.WriteReport(outDir, "serve-throughput", report);
        return 0;
    }

    /// <summary>
    /// Sends <paramref name="streams"/> streamed greedy completions at once and returns the tokens they generated per
    /// second of wall time, counted from each stream's usage chunk.
    /// </summary>
    private static double Measure(HttpClient http, Server server, int streams, int tokens)
    {
        var clock = Stopwatch.StartNew();
        var counts = Task.WhenAll(Enumerable.Range(0, streams).Select(i => StreamAsync(http, server.Address, $"Stream {i} begins: once upon a time", tokens))).GetAwaiter().GetResult();
        double seconds = clock.Elapsed.TotalSeconds;
        if (counts.Any(c => c != tokens))
            throw new InvalidOperationException($"{server.Name}: the streams generated {string.Join(", ", counts)} tokens, not {tokens} each");
        return counts.Sum() / seconds;
    }

    private static async Task<int> StreamAsync(HttpClient http, Uri address, string prompt, int tokens)
    {
        string body = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["prompt"] = prompt,
            ["max_tokens"] = tokens,
            ["temperature"] = 0,
            ["ignore_eos"] = true,
            ["stream"] = true,
            ["stream_options"] = new Dictionary<string, bool> { ["include_usage"] = true },
        });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "/v1/completions")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{address}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        int completion = -1;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal) || line == "data: [DONE]")
                continue;
            using var chunk = JsonDocument.Parse(line.AsMemory(6));
            if (chunk.RootElement.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                completion = usage.GetProperty("completion_tokens").GetInt32();
        }
        return completion;
    }

    private static string Report(string binary, string model, string? llamaServer, int threads, int parallel, int tokens, int repetitions, int context,
        double pp, List<Server> servers)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Serving throughput: llama-aot serve vs llama-server, side by side");
        sb.AppendLine();
        sb.AppendLine($"- date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm}");
        sb.AppendLine($"- CPU: {SideBySide.CpuName()} ({Environment.ProcessorCount} logical cores)");
        sb.AppendLine($"- model: {Path.GetFileName(model)}; flags of both: -np {parallel} -c {context} -t {threads}");
        sb.AppendLine($"- llama-aot: {binary} ({SideBySide.Git("rev-parse --short HEAD")}); llama.cpp: {llamaServer ?? "not run"}");
        sb.AppendLine($"- method: streamed /v1/completions, greedy, ignore_eos, {tokens} tokens each, short distinct prompts; rate = tokens generated / wall time from sending to the last [DONE] (prompt included); medians of {repetitions} runs alternating between the servers, after one warm-up request each");
        sb.AppendLine($"- llama-aot bench pp512 on the same file and threads: {SideBySide.F(pp)} t/s (median of {repetitions})");
        sb.AppendLine();
        sb.AppendLine($"| server | 1 stream t/s | {parallel} streams t/s | {parallel} streams / 1 stream | {parallel} streams / min({parallel} x 1 stream, pp512) |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var server in servers)
        {
            double alone = SideBySide.Median(server.Alone), together = SideBySide.Median(server.Together);
            sb.AppendLine($"| {server.Name} | {SideBySide.F(alone)} | {SideBySide.F(together)} | {SideBySide.F(together / alone)}x | {SideBySide.F(together / Math.Min(parallel * alone, pp))} |");
        }
        if (servers.Count == 2)
        {
            sb.AppendLine();
            sb.AppendLine($"llama-aot / llama-server: 1 stream **{SideBySide.F(SideBySide.Median(servers[0].Alone) / SideBySide.Median(servers[1].Alone))}x**, " +
                $"{parallel} streams **{SideBySide.F(SideBySide.Median(servers[0].Together) / SideBySide.Median(servers[1].Together))}x**");
        }
        return sb.ToString();
    }

    /// <summary>A server process on a free loopback port, its output kept for the error message if it fails to start.</summary>
    private sealed class Server : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private Server(string name, Process process, Uri address)
        {
            Name = name;
            _process = process;
            Address = address;
        }

        public string Name { get; }

        public Uri Address { get; }

        public List<double> Alone { get; } = [];

        public List<double> Together { get; } = [];

        public static Server Start(string name, string binary, string[] args)
        {
            int port = FreePort();
            var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in args.Concat(["--port", $"{port}"]))
                start.ArgumentList.Add(a);
            var process = Process.Start(start)!;
            var server = new Server(name, process, new Uri($"http://127.0.0.1:{port}"));
            process.OutputDataReceived += (_, e) => server.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => server.Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return server;
        }

        private void Keep(string? line)
        {
            lock (_log)
            {
                if (line is not null && _log.Length < 1 << 16)
                    _log.AppendLine(line);
            }
        }

        public void WaitReady(HttpClient http)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < StartTimeout)
            {
                if (_process.HasExited)
                    break;
                try
                {
                    using var health = http.GetAsync(new Uri(Address, "/health")).GetAwaiter().GetResult();
                    if (health.StatusCode == HttpStatusCode.OK)
                        return;
                }
                catch (HttpRequestException)
                {
                }
                Thread.Sleep(100);
            }
            string what = _process.HasExited ? $"exited with code {_process.ExitCode}" : $"did not become ready within {StartTimeout.TotalSeconds} s";
            lock (_log)
                throw new InvalidOperationException($"{Name} {what}:\n{_log}");
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}
