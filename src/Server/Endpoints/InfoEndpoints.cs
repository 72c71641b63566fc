using System.Text;
using LlamaAot.Chat.Jinja;
using LlamaAot.Server.Api;
using Microsoft.AspNetCore.Http;

namespace LlamaAot.Server.Endpoints;

/// <summary>
/// The endpoints around generation: <c>/health</c>, <c>/v1/models</c>, <c>/metrics</c>, and llama-server's
/// <c>/tokenize</c>, <c>/detokenize</c> and <c>/apply-template</c>.
/// </summary>
internal sealed class InfoEndpoints(LlamaServer server)
{
    /// <summary>200 <c>{"status": "ok"}</c> once the model is loaded; 503 while it loads (llama-server's answers).</summary>
    public Task HealthAsync(HttpContext http)
    {
        server.Engine();
        return HttpJson.WriteAsync(http, new HealthStatus("ok"), ServerJson.Api.HealthStatus);
    }

    public Task ModelsAsync(HttpContext http)
    {
        var engine = server.Engine();
        var list = new ModelList("list", [new ModelEntry(engine.ModelId, "model", engine.Created, "llamacpp")]);
        return HttpJson.WriteAsync(http, list, ServerJson.Api.ModelList);
    }

    /// <summary>Prometheus text (version 0.0.4), llama-server's metric names.</summary>
    public async Task MetricsAsync(HttpContext http)
    {
        var engine = server.Engine();
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await http.Response.WriteAsync(server.Metrics.Render(engine.Context.ContextSize), http.RequestAborted);
    }

    /// <summary>
    /// <c>{"content": TEXT, "add_special": false, "parse_special": true, "with_pieces": false}</c> to
    /// <c>{"tokens": [ids]}</c>, or <c>[{"id", "piece"}]</c> with pieces (llama-server's defaults).
    /// </summary>
    public async Task TokenizeAsync(HttpContext http)
    {
        var engine = server.Engine();
        var body = await HttpJson.ReadAsync(http, ServerJson.Api.TokenizeBody, server.Options.Timeout);
        int[] tokens = engine.Model.Tokenize(body.Content ?? "", body.AddSpecial ?? false, body.ParseSpecial ?? true);
        if (body.WithPieces == true)
        {
            var pieces = tokens.Select(t => new TokenPiece(t, Encoding.UTF8.GetString(engine.Model.Tokenizer.TokenToPiece(t, special: true)))).ToArray();
            await HttpJson.WriteAsync(http, new TokenPieces(pieces), ServerJson.Api.TokenPieces);
        }
        else
            await HttpJson.WriteAsync(http, new TokenIds(tokens), ServerJson.Api.TokenIds);
    }

    /// <summary><c>{"tokens": [ids]}</c> to <c>{"content": TEXT}</c>.</summary>
    public async Task DetokenizeAsync(HttpContext http)
    {
        var engine = server.Engine();
        var body = await HttpJson.ReadAsync(http, ServerJson.Api.DetokenizeBody, server.Options.Timeout);
        int[] tokens = body.Tokens ?? [];
        int nVocab = engine.Model.Config.NVocab;
        if (tokens.FirstOrDefault(t => (uint)t >= (uint)nVocab, 0) is var bad && (uint)bad >= (uint)nVocab)
            throw ApiException.BadRequest($"'tokens' holds {bad}, which is not a token id (0 to {nVocab - 1})");
        await HttpJson.WriteAsync(http, new DetokenizedText(engine.Model.Detokenize(tokens)), ServerJson.Api.DetokenizedText);
    }

    /// <summary><c>{"messages": [...]}</c> to <c>{"prompt": TEXT}</c>: the chat template's rendering, as the completions use it.</summary>
    public async Task ApplyTemplateAsync(HttpContext http)
    {
        var engine = server.Engine();
        var body = await HttpJson.ReadAsync(http, ServerJson.Api.ApplyTemplateBody, server.Options.Timeout);
        var messages = RequestSettings.Messages(body.Messages);
        string prompt;
        try
        {
            prompt = engine.Prompt.Render(messages, body.Tools);
        }
        catch (Exception e) when (e is ArgumentException or JinjaException)
        {
            throw ApiException.BadRequest($"the chat template cannot render the messages: {e.Message}");
        }
        await HttpJson.WriteAsync(http, new TemplatePrompt(prompt), ServerJson.Api.TemplatePrompt);
    }
}
