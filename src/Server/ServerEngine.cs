using LlamaAot.Chat;
using LlamaAot.Server.Scheduling;

namespace LlamaAot.Server;

/// <summary>
/// What the server runs once its model is loaded: the model, the context whose sequences are the slots, the scheduler
/// over them and the chat template that makes messages into prompts.
/// </summary>
internal sealed class ServerEngine : IDisposable
{
    private ServerEngine(LlamaModel model, LlamaContext context, SlotScheduler scheduler, ChatPrompt prompt, string modelId)
    {
        Model = model;
        Context = context;
        Scheduler = scheduler;
        Prompt = prompt;
        ModelId = modelId;
    }

    public LlamaModel Model { get; }

    public LlamaContext Context { get; }

    public SlotScheduler Scheduler { get; }

    public ChatPrompt Prompt { get; }

    /// <summary>The model's name in the API (the alias, or the file's name).</summary>
    public string ModelId { get; }

    public long Created { get; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <exception cref="Chat.Jinja.JinjaException">The chat template given does not compile.</exception>
    public static ServerEngine Load(ServerOptions options, ServerMetrics metrics)
    {
        var model = LlamaModel.Load(options.ModelPath);
        LlamaContext? context = null;
        try
        {
            var template = options.ChatTemplateSource is { } source ? new ChatTemplate(source) : null;
            context = model.CreateContext(options.Context);
            var scheduler = new SlotScheduler(context, options.Context.BatchSize, options.MaxQueue, metrics);
            return new ServerEngine(model, context, scheduler, new ChatPrompt(model, template), options.Alias ?? Path.GetFileName(options.ModelPath));
        }
        catch
        {
            context?.Dispose();
            model.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Scheduler.Dispose();
        Context.Dispose();
        Model.Dispose();
    }
}
