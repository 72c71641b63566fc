using System.Net;
using System.Security.Cryptography;
using System.Text;
using LlamaAot.Server.Api;
using LlamaAot.Server.Endpoints;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlamaAot.Server;

/// <summary>
/// <c>llama-aot serve</c>: an OpenAI-compatible HTTP server on Kestrel. It listens at once and loads the model in the
/// background (<c>/health</c> answers 503 until <see cref="Ready"/>), then serves every request through one
/// <see cref="Scheduling.SlotScheduler"/>. Errors are OpenAI's <c>{"error": {"message", "type", "code"}}</c>.
/// </summary>
/// <example>
/// <code>
/// await using var server = await LlamaServer.StartAsync(new ServerOptions { ModelPath = "model.gguf", Port = 0 });
/// await server.Ready;
/// Console.WriteLine(server.Address); // http://127.0.0.1:PORT/ : point an OpenAI client at PORT/v1
/// </code>
/// </example>
public sealed class LlamaServer : IAsyncDisposable
{
    private static readonly HashSet<string> PublicPaths = ["/health", "/v1/health", "/models", "/v1/models"];

    private readonly WebApplication _app;
    private readonly Action<string>? _log;
    private readonly byte[]? _key;
    private Task<ServerEngine>? _loading;
    private volatile ServerEngine? _engine;

    private LlamaServer(ServerOptions options, Action<string>? log)
    {
        Options = options;
        _log = log;
        _key = options.ApiKey is { } key ? Encoding.UTF8.GetBytes(key) : null;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        // Only the command line configures the server: no appsettings.json, ASPNETCORE_URLS or Kestrel section.
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            if (options.Host == "localhost")
                kestrel.ListenLocalhost(options.Port);
            else
                kestrel.Listen(IPAddress.Parse(options.Host), options.Port);
        });
        _app = builder.Build();
        // Requests still generating end when the host stops, rather than holding its shutdown up.
        _app.Lifetime.ApplicationStopping.Register(() => _engine?.Scheduler.Dispose());
        _app.Use(GuardAsync);
        var info = new InfoEndpoints(this);
        var completions = new CompletionEndpoints(this);
        foreach (string path in (string[])["/health", "/v1/health"])
            _app.MapGet(path, info.HealthAsync);
        foreach (string path in (string[])["/models", "/v1/models"])
            _app.MapGet(path, info.ModelsAsync);
        foreach (string path in (string[])["/chat/completions", "/v1/chat/completions"])
            _app.MapPost(path, completions.ChatAsync);
        _app.MapPost("/v1/completions", completions.CompletionAsync);
        _app.MapPost("/tokenize", info.TokenizeAsync);
        _app.MapPost("/detokenize", info.DetokenizeAsync);
        _app.MapPost("/apply-template", info.ApplyTemplateAsync);
        if (options.Metrics)
            _app.MapGet("/metrics", info.MetricsAsync);
        _app.MapFallback(http => HttpJson.WriteErrorAsync(http, new ApiException(StatusCodes.Status404NotFound, "not_found_error", $"no endpoint {http.Request.Method} {http.Request.Path}")));
    }

    public ServerOptions Options { get; }

    internal ServerMetrics Metrics { get; } = new();

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:8080</c> (the port picked when 0 was asked for).</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Completes when the model is loaded and requests are served; faults when loading fails.</summary>
    public Task Ready => _loading!;

    /// <summary>Positions of context each slot holds (-c divided among -np); 0 while loading.</summary>
    public int SlotContextSize => _engine?.Scheduler.SlotContextSize ?? 0;

    /// <summary>Slots with no request (all of them when the server is idle); 0 while loading.</summary>
    public int IdleSlots => _engine?.Scheduler.IdleSlots ?? 0;

    /// <summary>Starts listening, then loads the model in the background.</summary>
    /// <param name="log">Receives a line per request and event (the CLI prints them on standard error).</param>
    /// <exception cref="IOException">The address cannot be listened on (the port is taken, say).</exception>
    public static Task<LlamaServer> StartAsync(ServerOptions options, Action<string>? log = null, CancellationToken cancellationToken = default) =>
        StartAsync(options, log, loadAfter: null, cancellationToken);

    /// <param name="loadAfter">Loading waits for it (tests look at the server while it loads).</param>
    internal static async Task<LlamaServer> StartAsync(ServerOptions options, Action<string>? log, Task? loadAfter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Host != "localhost" && !IPAddress.TryParse(options.Host, out _))
            throw new ArgumentException($"--host takes an IP address or localhost, not '{options.Host}'");
        var server = new LlamaServer(options, log);
        try
        {
            await server._app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server._app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var addresses = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        server.Address = new Uri(addresses.First());
        server._loading = Task.Run(async () =>
        {
            if (loadAfter is not null)
                await loadAfter.ConfigureAwait(false);
            var engine = ServerEngine.Load(options, server.Metrics);
            server._engine = engine;
            return engine;
        }, CancellationToken.None);
        return server;
    }

    /// <summary>Completes when the host is stopped (SIGINT or SIGTERM in the CLI).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>The engine, or the error a request gets while there is none (503 while loading, 500 if loading failed).</summary>
    internal ServerEngine Engine()
    {
        if (_engine is { } engine)
            return engine;
        if (_loading is { IsFaulted: true } failed)
            throw new ApiException(StatusCodes.Status500InternalServerError, "server_error", $"the model failed to load: {failed.Exception!.InnerException!.Message}");
        throw new ApiException(StatusCodes.Status503ServiceUnavailable, "unavailable_error", "Loading model") { RetryAfter = 1 };
    }

    internal void Log(string message) => _log?.Invoke(message);

    /// <summary>Checks the API key, then runs the endpoint and turns what it throws into an error response.</summary>
    private async Task GuardAsync(HttpContext http, RequestDelegate next)
    {
        try
        {
            if (_key is not null && !PublicPaths.Contains(http.Request.Path.Value ?? "") && !Authorized(http.Request))
                throw new ApiException(StatusCodes.Status401Unauthorized, "authentication_error", "Invalid API Key");
            await next(http);
        }
        catch (ApiException e) when (!http.Response.HasStarted)
        {
            await HttpJson.WriteErrorAsync(http, e);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client left.
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            Log($"request {http.TraceIdentifier} failed: {e.GetType().Name}: {e.Message}");
            await HttpJson.WriteErrorAsync(http, new ApiException(StatusCodes.Status500InternalServerError, "server_error", e.Message));
        }
    }

    /// <summary><c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c> (llama-server takes both), compared in constant time.</summary>
    private bool Authorized(HttpRequest request)
    {
        string? given = request.Headers.Authorization.ToString() is { Length: > 7 } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal)
            ? auth[7..]
            : request.Headers["X-Api-Key"].ToString();
        return given is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _key);
    }

    /// <summary>Stops listening, ends the requests still running, and frees the model.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            if (_loading is not null)
            {
                try
                {
                    await _loading.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Reported through Ready.
                }
            }
            _engine?.Dispose();
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
