using System.Globalization;
using System.Text;

namespace LlamaAot.Server;

/// <summary>
/// The counters behind <c>GET /metrics</c>, written as Prometheus text with llama-server's metric names and help
/// texts (tools/server/server.cpp, handle_metrics), so dashboards made for llama-server read llama-aot's. Updated by the
/// scheduler's thread; read from any.
/// </summary>
internal sealed class ServerMetrics
{
    private long _promptTokens, _predictedTokens, _decodes, _busySlotsSum;
    private long _promptTicks, _predictedTicks; // Stopwatch ticks of forward passes, shared out by tokens

    /// <summary>Requests holding a slot.</summary>
    public int Processing;

    /// <summary>Requests waiting for a slot.</summary>
    public int Deferred;

    /// <summary>Tokens the KV cache holds, over every slot.</summary>
    public long KvTokens;

    /// <summary>
    /// Records one forward pass of <paramref name="promptTokens"/> prompt tokens and <paramref name="generated"/> tokens
    /// fed back after being generated, for <paramref name="busySlots"/> slots; its time is shared out between prompt
    /// and generation by their tokens (llama-server times each slot's phases instead: one pass serves both here).
    /// </summary>
    public void Pass(int promptTokens, int generated, int busySlots, long ticks)
    {
        int total = promptTokens + generated;
        if (total == 0)
            return;
        Interlocked.Add(ref _promptTokens, promptTokens);
        Interlocked.Increment(ref _decodes);
        Interlocked.Add(ref _busySlotsSum, busySlots);
        long promptShare = ticks * promptTokens / total;
        Interlocked.Add(ref _promptTicks, promptShare);
        Interlocked.Add(ref _predictedTicks, ticks - promptShare);
    }

    /// <summary>Counts a token sampled for a request.</summary>
    public void Predicted() => Interlocked.Increment(ref _predictedTokens);

    /// <summary>The Prometheus text exposition.</summary>
    public string Render(int contextSize)
    {
        double Seconds(long ticks) => ticks / (double)System.Diagnostics.Stopwatch.Frequency;
        long prompt = Interlocked.Read(ref _promptTokens), predicted = Interlocked.Read(ref _predictedTokens);
        long decodes = Interlocked.Read(ref _decodes), busy = Interlocked.Read(ref _busySlotsSum);
        double promptSeconds = Seconds(Interlocked.Read(ref _promptTicks)), predictedSeconds = Seconds(Interlocked.Read(ref _predictedTicks));
        long kv = Interlocked.Read(ref KvTokens);
        var b = new StringBuilder();
        void Metric(string name, string type, string help, double value)
        {
            b.Append("# HELP llamacpp:").Append(name).Append(' ').Append(help).Append('\n');
            b.Append("# TYPE llamacpp:").Append(name).Append(' ').Append(type).Append('\n');
            b.Append("llamacpp:").Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        Metric("prompt_tokens_total", "counter", "Number of prompt tokens processed.", prompt);
        Metric("prompt_seconds_total", "counter", "Prompt process time", promptSeconds);
        Metric("tokens_predicted_total", "counter", "Number of generation tokens processed.", predicted);
        Metric("tokens_predicted_seconds_total", "counter", "Predict process time", predictedSeconds);
        Metric("n_decode_total", "counter", "Total number of llama_decode() calls", decodes);
        Metric("n_busy_slots_per_decode", "counter", "Average number of busy slots per llama_decode() call", decodes > 0 ? busy / (double)decodes : 0);
        Metric("prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.", promptSeconds > 0 ? prompt / promptSeconds : 0);
        Metric("predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.", predictedSeconds > 0 ? predicted / predictedSeconds : 0);
        Metric("kv_cache_usage_ratio", "gauge", "KV-cache usage. 1 means 100 percent usage.", contextSize > 0 ? kv / (double)contextSize : 0);
        Metric("kv_cache_tokens", "gauge", "KV-cache tokens.", kv);
        Metric("requests_processing", "gauge", "Number of requests processing.", Volatile.Read(ref Processing));
        Metric("requests_deferred", "gauge", "Number of requests deferred.", Volatile.Read(ref Deferred));
        return b.ToString();
    }
}
