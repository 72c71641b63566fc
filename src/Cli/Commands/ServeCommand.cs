using System.CommandLine;
using LlamaAot.Chat;
using LlamaAot.Chat.Jinja;
using LlamaAot.Server;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot serve -m FILE [--host H] [--port P] [-np N] [-c N] [-t N] [--api-key KEY] [--metrics] [-to S]
/// [--max-queue N] [--chat-template-file F]</c>: the OpenAI-compatible HTTP server, with llama-server's flag names and
/// meanings. It listens at once, loads the model (<c>/health</c> says 503 meanwhile) and serves until SIGINT or
/// SIGTERM; one line per request on standard error.
/// </summary>
internal sealed class ServeCommand
{
    private readonly Option<string> _model = CommonOptions.Model();
    private readonly Option<string?> _alias = new("--alias", "-a") { Description = "The model's name in the API (default: the file's name).", HelpName = "NAME" };
    private readonly Option<string> _host = new("--host")
    {
        Description = "Address to listen on: an IP address or localhost (default: 127.0.0.1; 0.0.0.0 for every interface).",
        HelpName = "HOST",
        DefaultValueFactory = _ => "127.0.0.1",
    };
    private readonly Option<int> _port = new("--port")
    {
        Description = "TCP port to listen on (default: 8080; 0 picks a free one, printed).",
        HelpName = "N",
        DefaultValueFactory = _ => 8080,
        CustomParser = OptionValues.Int(0, 65535, "a port number from 0 to 65535"),
    };
    private readonly Option<int> _parallel = new("--parallel", "-np")
    {
        Description = "Slots: requests decoded together, each with -c / N positions of context (default: 1).",
        HelpName = "N",
        DefaultValueFactory = _ => 1,
        CustomParser = OptionValues.Int(1, 4096, "an integer from 1 to 4096"),
    };
    private readonly Option<int> _ctx = CommonOptions.ContextSize();
    private readonly EngineFlags _engine = new();
    private readonly Option<string?> _gpuLayers = CommonOptions.GpuLayers();
    private readonly Option<string?> _apiKey = new("--api-key")
    {
        Description = "Require this key (Authorization: Bearer KEY) on every request but /health and /v1/models.",
        HelpName = "KEY",
    };
    private readonly Option<bool> _metrics = new("--metrics") { Description = "Serve GET /metrics (Prometheus text, llama-server's metric names)." };
    private readonly Option<int> _timeout = new("--timeout", "-to")
    {
        Description = "Read/write timeout in seconds: a body not received or a response write not taken by the client in time ends the request (default: 600).",
        HelpName = "S",
        DefaultValueFactory = _ => 600,
        CustomParser = OptionValues.Int(1, int.MaxValue / 1000, "a number of seconds from 1 up"),
    };
    private readonly Option<int> _maxQueue = new("--max-queue")
    {
        Description = "Requests that may wait for a slot; more get 503 with Retry-After (default: 256).",
        HelpName = "N",
        DefaultValueFactory = _ => 256,
        CustomParser = OptionValues.Int(0, int.MaxValue, "an integer from 0 up"),
    };
    private readonly Option<string?> _templateFile = new("--chat-template-file")
    {
        Description = "A Jinja chat template to use instead of the model's (ChatML when it has none).",
        HelpName = "FILE",
    };

    public static Command Create()
    {
        var self = new ServeCommand();
        var command = new Command("serve", "Serve the model over HTTP with OpenAI's API (/v1/chat/completions, /v1/completions, /v1/models), llama-server style.");
        foreach (var o in (Option[])[self._model, self._alias, self._host, self._port, self._parallel, self._ctx, self._engine.Threads, self._engine.ThreadsBatch,
                     .. self._engine.Batch.Options, self._engine.KeyCacheType, self._engine.ValueCacheType, self._engine.FlashAttention, self._gpuLayers, self._apiKey, self._metrics, self._timeout, self._maxQueue, self._templateFile])
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        string model = p.GetValue(_model)!, host = p.GetValue(_host)!;
        int parallel = p.GetValue(_parallel), ctx = p.GetValue(_ctx);
        if (host != "localhost" && !System.Net.IPAddress.TryParse(host, out _))
            throw new UsageException($"--host takes an IP address or localhost, not {Diagnostics.Excerpt.Quote(host)}");
        if (ctx > 0 && parallel > ctx)
            throw new UsageException($"-np {parallel} slots do not fit a context of {ctx} positions (-c): each slot needs at least one");
        InputFiles.Check(model, "model");
        string? template = p.GetValue(_templateFile) is { } file ? CommonOptions.ReadTextFile(file, "chat template") : null;
        if (template is not null)
        {
            try
            {
                _ = new ChatTemplate(template);
            }
            catch (JinjaException e)
            {
                throw new InputException($"the chat template does not compile: {e.Message}");
            }
        }
        CommonOptions.NoteGpuLayers(p, _gpuLayers);
        var options = new ServerOptions
        {
            ModelPath = model,
            Alias = p.GetValue(_alias),
            Host = host,
            Port = p.GetValue(_port),
            Context = _engine.Read(p, ctx, parallel),
            ApiKey = p.GetValue(_apiKey),
            Metrics = p.GetValue(_metrics),
            Timeout = TimeSpan.FromSeconds(p.GetValue(_timeout)),
            MaxQueue = p.GetValue(_maxQueue),
            ChatTemplateSource = template,
        };
        return Serve(options).GetAwaiter().GetResult();
    }

    private static async Task<int> Serve(ServerOptions options)
    {
        await using var server = await LlamaServer.StartAsync(options, Log.Info);
        Log.Info($"listening on {server.Address} (OpenAI API at {server.Address}v1); loading the model");
        await server.Ready;
        Log.Info($"model loaded: {options.Context.Sequences} slots of {server.SlotContextSize} positions; serving until SIGINT or SIGTERM");
        await server.WaitForShutdownAsync();
        Log.Info("shutting down");
        return ExitCodes.Ok;
    }
}
