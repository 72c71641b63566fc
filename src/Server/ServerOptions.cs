namespace LlamaAot.Server;

/// <summary>
/// How <c>llama-aot serve</c> runs (llama-server's flags: -m, --host, --port, -np, -c, -t, --api-key, --metrics, -to,
/// --chat-template-file; --max-queue is llama-aot's own).
/// </summary>
public sealed record ServerOptions
{
    /// <summary>The GGUF model file.</summary>
    public required string ModelPath { get; init; }

    /// <summary>The name clients see in <c>/v1/models</c> and in responses; null for the model file's name.</summary>
    public string? Alias { get; init; }

    /// <summary>The address to listen on: an IP address or <c>localhost</c>.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (<see cref="LlamaServer.Address"/> says which).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>
    /// The engine: <see cref="ContextOptions.ContextSize"/> is the total context (llama-server's -c), divided among
    /// the <see cref="ContextOptions.Sequences"/> slots (its -np); 0 is the model's training context.
    /// </summary>
    public ContextOptions Context { get; init; } = new();

    /// <summary>Requests that may wait for a slot; one more is refused with 503 and Retry-After.</summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>A key every request but <c>/health</c> and <c>/v1/models</c> must send (<c>Authorization: Bearer KEY</c>); null for none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Serve <c>GET /metrics</c> (Prometheus text, llama-server's metric names).</summary>
    public bool Metrics { get; init; }

    /// <summary>
    /// Read and write timeout (llama-server's -to, 600 s): a request body not received, or a response write not taken by
    /// the client, within it ends the request (and frees its slot).
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>A Jinja chat template to use instead of the model's; null for the model's (ChatML when it has none).</summary>
    public string? ChatTemplateSource { get; init; }

    /// <summary>Largest request body accepted; a larger one gets 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 8 << 20;
}
