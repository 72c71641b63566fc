using System.Net.Sockets;
using System.Text;

namespace LlamaAot.Server.Tests;

/// <summary>
/// A client that asks for a long stream and never reads it: its writes stop being taken, the write timeout (-to, 1 s
/// here) ends the request and frees its slot, and the server serves others meanwhile and after.
/// </summary>
public sealed class SlowClientTests
{
    [Fact(Timeout = 60_000)]
    public async Task AClientThatNeverReadsLosesItsSlotAtTheWriteTimeout()
    {
        await using var host = await TestServer.StartAsync(o => o with
        {
            Timeout = TimeSpan.FromSeconds(1),
            Metrics = true,
            Context = o.Context with { Sequences = 2, ContextSize = 32768 },
        });
        using var timeout = new CancellationTokenSource(TestServer.Timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
        await socket.ConnectAsync(host.Server.Address.Host, host.Server.Address.Port, timeout.Token);
        // 20 alternatives per token make each event about 3 KB: the socket buffers fill after a few hundred tokens.
        string body = """{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 16000, "ignore_eos": true, "temperature": 0, "stream": true, "logprobs": true, "top_logprobs": 20}""";
        string request = $"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), timeout.Token);

        // It runs (one slot busy), and the other slot still serves.
        while (host.Server.IdleSlots != 1)
            await Task.Delay(10, timeout.Token);
        var answer = await host.PostJsonAsync("/v1/completions", """{"prompt": "Once", "max_tokens": 3, "temperature": 0}""");
        Assert.Equal(3, (int)answer["usage"]!["completion_tokens"]!);

        // Never read: the stream stalls, the write times out, the slot is freed long before 16,000 tokens.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await host.WaitIdleAsync(2);
        Console.WriteLine($"slow client: slot freed {clock.ElapsedMilliseconds} ms after the other request");
        string metrics = await host.Http.GetStringAsync("/metrics", timeout.Token);
        double predicted = double.Parse(metrics.Split('\n').Single(l => l.StartsWith("llamacpp:tokens_predicted_total ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"slow client: {predicted} tokens generated");
        Assert.True(predicted < 16000, $"{predicted} tokens were generated for a client that read none");
    }
}
