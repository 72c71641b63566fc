using System.Text;
using System.Text.Json;
using LlamaAot.Chat.Jinja;
using LlamaAot.Diagnostics;
using LlamaAot.Sampling;
using LlamaAot.Server.Api;
using LlamaAot.Server.Scheduling;
using Microsoft.AspNetCore.Http;

namespace LlamaAot.Server.Endpoints;

/// <summary>
/// <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c>: the request becomes prompt tokens and settings, is
/// queued for a slot, and its tokens are sent as they are generated (server-sent events, <c>"stream": true</c>) or as
/// one response at the end.
/// </summary>
internal sealed class CompletionEndpoints(LlamaServer server)
{
    public async Task ChatAsync(HttpContext http)
    {
        var engine = server.Engine();
        var body = await HttpJson.ReadAsync(http, ServerJson.Api.ChatCompletionBody, server.Options.Timeout);
        var messages = RequestSettings.Messages(body.Messages);
        var options = RequestSettings.Generation(body);
        int logprobs = -1;
        if (body.Logprobs == true)
        {
            logprobs = body.TopLogprobs ?? 0;
            if (logprobs is < 0 or > 20)
                throw ApiException.BadRequest($"'top_logprobs' must be from 0 to 20, not {logprobs}");
        }
        int[] prompt;
        try
        {
            prompt = engine.Prompt.Tokenize(messages, body.Tools);
        }
        catch (Exception e) when (e is ArgumentException or JinjaException)
        {
            throw ApiException.BadRequest($"the chat template cannot render the messages: {e.Message}");
        }
        var output = new ChatOutput(engine.ModelId);
        await RunAsync(http, engine, prompt, options, logprobs, body, output);
    }

    public async Task CompletionAsync(HttpContext http)
    {
        var engine = server.Engine();
        var body = await HttpJson.ReadAsync(http, ServerJson.Api.CompletionBody, server.Options.Timeout);
        var options = RequestSettings.Generation(body);
        if (body.Logprobs is { } n && n is < 0 or > 5)
            throw ApiException.BadRequest($"'logprobs' must be from 0 to 5, not {n}");
        int[] prompt = Prompt(engine, body.Prompt);
        var output = new TextOutput(engine.ModelId);
        await RunAsync(http, engine, prompt, options, body.Logprobs ?? -1, body, output);
    }

    /// <summary>
    /// The prompt of <c>/v1/completions</c>: a string (tokenized as llama-server does, BOS added and special tokens
    /// parsed), an array of one string, or an array of token ids.
    /// </summary>
    private static int[] Prompt(ServerEngine engine, JsonElement? prompt)
    {
        switch (prompt)
        {
            case { ValueKind: JsonValueKind.String } s:
                return engine.Model.Tokenize(s.GetString()!, addSpecial: true, parseSpecial: true);
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 1 && a[0].ValueKind == JsonValueKind.String:
                return engine.Model.Tokenize(a[0].GetString()!, addSpecial: true, parseSpecial: true);
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                int nVocab = engine.Model.Config.NVocab;
                return [.. a.EnumerateArray().Select(e => e.TryGetInt32(out int id) && (uint)id < (uint)nVocab
                    ? id
                    : throw ApiException.BadRequest($"'prompt' token {Excerpt.Quote(e.GetRawText())} is not a token id (0 to {nVocab - 1})"))];
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 1:
                throw ApiException.BadRequest("'prompt' must be one prompt: llama-aot answers one prompt per request");
            case null or { ValueKind: JsonValueKind.Null }:
                throw ApiException.BadRequest("'prompt' is required");
            default:
                throw ApiException.BadRequest("'prompt' must be a string, an array of one string, or an array of token ids");
        }
    }

    private async Task RunAsync(HttpContext http, ServerEngine engine, int[] prompt, GenerationOptions options, int logprobs, GenerationBody body, IOutput output)
    {
        if (prompt.Length == 0)
            throw ApiException.BadRequest("the prompt has no tokens");
        int slotContext = engine.Scheduler.SlotContextSize;
        if (prompt.Length >= slotContext)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "exceed_context_size_error",
                $"the request exceeds the available context size: the prompt has {prompt.Length} tokens and a slot holds {slotContext} (-c divided among -np slots)")
            {
                Extra = new ErrorBody(0, "", "") { NPromptTokens = prompt.Length, NCtx = slotContext },
            };
        }
        Sampler sampler;
        try
        {
            sampler = new Sampler(options.Sampling, engine.Model.Tokenizer, slotContext);
        }
        catch (GrammarException e)
        {
            throw ApiException.BadRequest(e.Message); // a token the grammar names is not one of the vocabulary's
        }
        sampler.AcceptPrompt(prompt);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var request = new SlotRequest(prompt, options, sampler, logprobs, cancel.Token);
        if (!engine.Scheduler.TryEnqueue(request))
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, "unavailable_error",
                $"the server is busy: every slot is taken and {server.Options.MaxQueue} requests are waiting (--max-queue); retry later")
            { RetryAfter = 1 };
        }
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        SlotFinish? finish = null;
        try
        {
            finish = body.Stream == true
                ? await StreamAsync(http, request, cancel, body.StreamOptions?.IncludeUsage == true, output)
                : await CollectAsync(http, request, output);
        }
        finally
        {
            // One line per request, when it ends (the client may have left: then it says so).
            string ms = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
            server.Log(finish is null || finish.Reason == "cancelled"
                ? $"request {http.TraceIdentifier}: {prompt.Length} prompt tokens, ended without an answer after {ms} ms (the client left, or a timeout)"
                : $"request {http.TraceIdentifier}: {finish.PromptTokens} prompt tokens ({finish.ReusedTokens} cached), {finish.CompletionTokens} generated{(body.Stream == true ? " streamed" : "")} in {ms} ms, {finish.Error ?? finish.Reason}");
        }
    }

    /// <summary>Waits for the whole generation and sends it as one response.</summary>
    private static async Task<SlotFinish?> CollectAsync(HttpContext http, SlotRequest request, IOutput output)
    {
        var text = new StringBuilder();
        var logprobs = request.Logprobs >= 0 ? new List<TokenLogprob>() : null;
        await foreach (var e in request.Events.ReadAllAsync(http.RequestAborted))
        {
            text.Append(e.Text);
            if (e.Logprob is not null)
                logprobs?.Add(e.Logprob);
            if (e.Finish is not { } finish)
                continue;
            if (finish.Error is not null)
                throw Failure(finish);
            if (finish.Reason == "cancelled")
                return finish;
            await output.WriteWholeAsync(http, text.ToString(), logprobs, finish);
            return finish;
        }
        return null;
    }

    /// <summary>
    /// Sends the generation as server-sent events as OpenAI's API does: a chunk per token with text (never part of a
    /// UTF-8 character: the decoder holds partial ones back), the finish reason, the usage when asked for, then
    /// <c>data: [DONE]</c>; each flushed at once. A write the client does not take within the timeout ends the request.
    /// </summary>
    private async Task<SlotFinish?> StreamAsync(HttpContext http, SlotRequest request, CancellationTokenSource cancel, bool includeUsage, IOutput output)
    {
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        var sse = new EventWriter(http.Response.Body, cancel, server.Options.Timeout);
        try
        {
            await output.WriteStartAsync(sse);
            await foreach (var e in request.Events.ReadAllAsync(cancel.Token))
            {
                if (e.Text.Length > 0 || e.Logprob is not null)
                    await output.WriteDeltaAsync(sse, e.Text, e.Logprob);
                if (e.Finish is not { } finish)
                    continue;
                if (finish.Reason == "cancelled")
                    return finish;
                if (finish.Error is not null)
                    await sse.WriteAsync(new ErrorResponse(Failure(finish).Body), ServerJson.Api.ErrorResponse);
                else
                    await output.WriteFinishAsync(sse, finish, includeUsage);
                await sse.WriteDoneAsync();
                return finish;
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // The client left, or did not take a write in time: the scheduler frees the slot at its next step.
        }
        return null;
    }

    /// <summary>
    /// A generation that failed, as the error its client gets: 400 when the request is at fault (its grammar cannot go
    /// on), 500 otherwise. A stream has sent 200 already: the error is its last event.
    /// </summary>
    private static ApiException Failure(SlotFinish finish) =>
        finish.Invalid ? ApiException.BadRequest(finish.Error!) : new ApiException(StatusCodes.Status500InternalServerError, "server_error", finish.Error!);
}
