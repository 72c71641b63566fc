using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlamaAot.Tests.Cli;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// The request bodies of <c>llama-aot serve</c> under the fuzz test: one server (the binary, on 127.0.0.1, stories260K,
/// <c>-np 2 -c 1024 -t 1</c>: 512 positions a slot, so whatever a mutated body asks for, a generation ends) takes the
/// cases of <see cref="RequestBodies"/>, POSTed from two workers for <c>LLAMA_AOT_FUZZ_SECONDS</c> on the cases of
/// <c>LLAMA_AOT_FUZZ_SEED</c>. Each answer is judged as a client reads it: 200, a 4xx, or 503; never another 5xx, a
/// dropped connection or no answer within <see cref="RequestTimeout"/>. A refusal is OpenAI's error body
/// <c>{"error": {"message", "type", "code"}}</c> whose message is one line a person reads (as the CLI's error line:
/// no line break, at most <see cref="FuzzCase.LongestErrorLine"/> characters); a 200 is JSON, or for a body that asks
/// to stream, server-sent events of JSON ending with <c>data: [DONE]</c>. A server is one process for all the cases,
/// so what one case breaks shows in the next ones and in the end: after the budget it must still be alive, healthy,
/// give the greedy completion it gave before, and hold at most <see cref="MemoryBoundBytes"/> more resident memory than
/// after the warm-up (every seed once, each of which must succeed: the cases start from bodies the server accepts). A
/// failing case is kept, its body and a repro.sh that POSTs it with curl, under
/// <c>$TMPDIR/llama-aot-fuzz/request-bodies/seedS-caseI/</c>.
/// </summary>
public sealed class RequestBodyFuzzTests(ITestOutputHelper output)
{
    private const string Target = "request-bodies";
    private const int Workers = 2;
    private const long MemoryBoundBytes = 256L << 20;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly string[] ServeArgs = ["-m", Shared.Stories260K("Q4_0"), "-np", "2", "-c", "1024", "-t", "1"];
    private const string GreedyBody = """{"prompt": "Once upon a time", "max_tokens": 16, "temperature": 0}""";

    [Fact]
    public async Task EveryRequestIsAnsweredOrRefusedCleanly()
    {
        var run = new FuzzRun(Target);
        using var serve = await ServeProcess.StartAsync(RequestTimeout, ServeArgs);
        using var http = new HttpClient { BaseAddress = serve.Address, Timeout = RequestTimeout };

        foreach (var (path, seed) in RequestBodies.Seeds)
        {
            byte[] body = Encoding.UTF8.GetBytes(seed);
            var answer = Post(http, path, body);
            string? fault = answer.Status == 200 ? Judge(answer, path, body) : $"status {answer.Status}";
            Assert.True(fault is null, $"the seed {path} {seed} is not answered: {fault}\n{answer.Text}");
        }
        string greedy = Post(http, "/v1/completions", Encoding.UTF8.GetBytes(GreedyBody)).Text;
        long warm = serve.ResidentBytes();

        var statuses = new ConcurrentDictionary<int, int>();
        var outcome = run.Run(Workers, i =>
        {
            var random = run.CaseRandom(i);
            var (path, seed) = RequestBodies.Seeds[random.Next(RequestBodies.Seeds.Length)];
            byte[] body = RequestBodies.Mutate(Encoding.UTF8.GetBytes(seed), random);
            var answer = Post(http, path, body);
            statuses.AddOrUpdate(answer.Status, 1, (_, n) => n + 1);
            return Judge(answer, path, body) is { } fault ? Keep(run, i, path, body, fault, answer) : null;
        });
        output.WriteLine(outcome.Summary);
        output.WriteLine($"statuses: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{(s.Key == 0 ? "none" : s.Key)} x{s.Value}"))}");
        if (serve.Process.HasExited)
            Assert.Fail($"the server exited ({serve.Process.ExitCode}) during the cases:\n{serve.LogTail()}");
        long resident = serve.ResidentBytes();
        output.WriteLine($"resident memory: {warm >> 20} MiB after the warm-up, {resident >> 20} MiB after {outcome.Cases} cases (bound +{MemoryBoundBytes >> 20} MiB)");

        outcome.AssertPassed();
        using (var cancel = new CancellationTokenSource(RequestTimeout))
            Assert.True(await ServeProcess.HealthyAsync(http, cancel.Token), "GET /health is not 200 after the cases");
        var after = Post(http, "/v1/completions", Encoding.UTF8.GetBytes(GreedyBody));
        Assert.True(after.Status == 200 && Completion(after.Text) == Completion(greedy),
            $"the greedy completion changed after the cases: {after.Status} {after.Text}\nwas {greedy}");
        Assert.True(resident <= warm + MemoryBoundBytes,
            $"resident memory grew from {warm >> 20} MiB after the warm-up to {resident >> 20} MiB after {outcome.Cases} cases");
    }

    /// <summary>What came back: the status (0 when none did) and the body, or what went wrong.</summary>
    private sealed record Answer(int Status, string? ContentType, byte[] Body, string? Failure)
    {
        public string Text => Failure ?? Encoding.UTF8.GetString(Body);
    }

    private static Answer Post(HttpClient http, string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        try
        {
            // Send buffers the whole answer (every event of a stream) within the client's timeout.
            using var response = http.Send(request);
            using var stream = response.Content.ReadAsStream();
            var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            return new Answer((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, bytes.ToArray(), null);
        }
        catch (OperationCanceledException)
        {
            return new Answer(0, null, [], $"no answer within {RequestTimeout.TotalSeconds:0} s (a hang?)");
        }
        catch (HttpRequestException e)
        {
            return new Answer(0, null, [], $"the connection failed: {e.Message} {e.InnerException?.Message}");
        }
    }

    /// <summary>What is wrong with the answer to <paramref name="body"/>, or null when it is an answer or a clean refusal.</summary>
    private static string? Judge(Answer answer, string path, byte[] body)
    {
        if (answer.Failure is not null)
            return answer.Failure;
        if (answer.Status != 200)
            return Refusal(answer.Status) ? JudgeError(answer.Body, answer.Status) : $"status {answer.Status}";
        bool events = answer.ContentType == "text/event-stream";
        bool? stream = path.EndsWith("completions", StringComparison.Ordinal) ? AsksToStream(body) : false;
        if (stream is { } asked && asked != events)
            return asked ? $"a 200 as {answer.ContentType}, not events, to a body that asks to stream" : "events to a body that does not ask to stream";
        return events ? JudgeEvents(answer.Body) : ParsesAsJson(answer.Body) ? null : "a 200 that is not JSON";
    }

    /// <summary>A status that refuses the request (its fault, or a busy server), as opposed to a failure of the server.</summary>
    private static bool Refusal(int status) => status is (>= 400 and < 500) or 503;

    /// <summary>
    /// A refusal is <c>{"error": {"message", "type", "code"}}</c>, the code a refusal's (the response's status, when the
    /// error is not an event of a stream that began as a 200), the message one short line.
    /// </summary>
    private static string? JudgeError(byte[] body, int? status)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement is not { ValueKind: JsonValueKind.Object } root || !root.TryGetProperty("error", out var error)
                || !error.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.String
                || !error.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || !error.TryGetProperty("code", out var code) || !code.TryGetInt32(out int errorCode))
                return "an error without OpenAI's error body";
            if (!Refusal(errorCode) || (status is { } s && s != errorCode))
                return $"an error {errorCode}{(status is null ? " in a stream" : $" answered with status {status}")}";
            string text = message.GetString()!;
            if (text.Contains('\n') || text.Contains('\r'))
                return $"a {errorCode} whose message is not one line";
            if (text.Length > FuzzCase.LongestErrorLine)
                return $"a {errorCode} whose message has {text.Length} characters";
            return text.Length == 0 ? $"a {errorCode} with an empty message" : null;
        }
        catch (JsonException)
        {
            return "an error that is not JSON";
        }
    }

    /// <summary>
    /// Server-sent events: <c>data: JSON</c> each, then <c>data: [DONE]</c> and nothing after. An error event (the
    /// request's grammar cannot go on) is judged as a refusal.
    /// </summary>
    private static string? JudgeEvents(byte[] body)
    {
        string text = Encoding.UTF8.GetString(body);
        if (!text.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal))
            return "events that do not end with data: [DONE]";
        string[] events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        foreach (string e in events[..^1])
        {
            if (!e.StartsWith("data: ", StringComparison.Ordinal) || !ParsesAsJson(Encoding.UTF8.GetBytes(e[6..])))
                return $"an event that is not data: JSON ({(e.Length > 100 ? e[..100] : e)})";
            if (e.StartsWith("data: {\"error\"", StringComparison.Ordinal) && JudgeError(Encoding.UTF8.GetBytes(e[6..]), null) is { } fault)
                return fault;
        }
        return null;
    }

    private static bool ParsesAsJson(byte[] text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Whether the body asks for a stream (<c>"stream": true</c>); null when that is not plain from it.</summary>
    private static bool? AsksToStream(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
                return null;
            bool? stream = false;
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.NameEquals("stream"))
                    stream = property.Value.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False or JsonValueKind.Null => false, _ => null };
            }
            return stream;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Completion(string answer)
    {
        using var json = JsonDocument.Parse(answer);
        return json.RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    /// <summary>Keeps a failing case's body and a script that POSTs it; returns its one-paragraph description.</summary>
    private static string Keep(FuzzRun run, int index, string path, byte[] body, string fault, Answer answer)
    {
        string kept = Directory.CreateDirectory(run.KeptDirectory(index)).FullName;
        File.WriteAllBytes(Path.Combine(kept, "body.json"), body);
        File.WriteAllText(Path.Combine(kept, "repro.sh"), $$"""
            #!/bin/sh
            # POSTs body.json to a server started as the fuzz test starts it (LLAMA_AOT_SERVER: another one's address):
            #   llama-aot serve {{string.Join(' ', ServeArgs)}} --host 127.0.0.1 --port 8080
            cd "$(dirname "$0")" && exec curl -sS -i -m {{RequestTimeout.TotalSeconds:0}} -H 'Content-Type: application/json' --data-binary @body.json "${LLAMA_AOT_SERVER:-http://127.0.0.1:8080}{{path}}"

            """);
        string input = Encoding.UTF8.GetString(body);
        return FuzzRun.Describe(index, fault, $"POST {path} {input}", kept, "answer", answer.Status == 0 ? answer.Text : $"{answer.Status} {answer.Text}");
    }
}
