using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using LlamaAot.Diagnostics;
using Microsoft.AspNetCore.Http;

namespace LlamaAot.Server.Api;

/// <summary>
/// A request the server refuses, with its HTTP status and llama-server's error type (invalid_request_error,
/// authentication_error, not_found_error, unavailable_error, exceed_context_size_error, server_error).
/// </summary>
internal sealed class ApiException(int status, string type, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    /// <summary>Extra fields of the error body (exceed_context_size_error's token counts).</summary>
    public ErrorBody Body => Extra is { } e ? e with { Code = Status, Message = Message, Type = Type } : new ErrorBody(Status, Message, Type);

    public ErrorBody? Extra { get; init; }

    /// <summary>Seconds a client should wait before retrying (Retry-After), for 503.</summary>
    public int? RetryAfter { get; init; }

    public static ApiException BadRequest(string message) => new(StatusCodes.Status400BadRequest, "invalid_request_error", message);
}

/// <summary>Reading request bodies and writing JSON responses and errors.</summary>
internal static class HttpJson
{
    /// <summary>
    /// Reads the body as <typeparamref name="T"/>: malformed JSON, a field of the wrong type, an empty body or text
    /// <see cref="CheckText"/> refuses is 400, a body over the size limit 413 (Kestrel's limit), one not received within
    /// <paramref name="timeout"/> 408.
    /// </summary>
    public static async Task<T> ReadAsync<T>(HttpContext http, JsonTypeInfo<T> type, TimeSpan timeout) where T : class
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        cts.CancelAfter(timeout);
        using var body = new MemoryStream();
        try
        {
            await http.Request.Body.CopyToAsync(body, cts.Token).ConfigureAwait(false);
            var json = body.GetBuffer().AsSpan(0, (int)body.Length);
            CheckText(json);
            return JsonSerializer.Deserialize(json, type) ?? throw ApiException.BadRequest("the request body must be a JSON object, not null");
        }
        catch (JsonException e)
        {
            throw ApiException.BadRequest($"the request body is not valid: {Describe(e)}");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", "the request body is too large");
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(StatusCodes.Status408RequestTimeout, "invalid_request_error", $"the request body did not arrive within {timeout.TotalSeconds:0} s (-to)");
        }
    }

    /// <summary>
    /// Refuses what System.Text.Json reads lazily, and would fail on only where a value is used, deep in a request (a
    /// 500 there): a string or key that is not Unicode text (ill-formed UTF-8, or an escaped lone surrogate such as
    /// <c>"\ud800"</c>), and a key twice in one object (JsonObject throws on it; which one would win is a guess). Both
    /// are parse errors for llama-server too.
    /// </summary>
    private static void CheckText(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = ServerJson.MaxDepth });
        var keys = new Stack<HashSet<string>>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push(new HashSet<string>(StringComparer.Ordinal));
                        break;
                    case JsonTokenType.EndObject:
                        keys.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        string key = reader.GetString()!;
                        if (!keys.Peek().Add(key))
                            throw ApiException.BadRequest($"the request body is not valid: the key {Excerpt.Quote(key)} is given twice in one object");
                        break;
                    case JsonTokenType.String:
                        reader.GetString();
                        break;
                }
            }
        }
        catch (InvalidOperationException)
        {
            throw ApiException.BadRequest("the request body is not valid: a string in it is not Unicode text (ill-formed UTF-8 or a lone surrogate)");
        }
    }

    /// <summary>
    /// What is wrong, in the request's terms: a value of the wrong type is named by its path (System.Text.Json says
    /// "could not be converted to Nullable`1[Single]"); malformed JSON keeps the reader's words, without line numbers,
    /// and the text they start by quoting (<c>'tru...' is an invalid JSON literal</c>: the rest of the body, newlines
    /// and all) quoted as any value from a request is.
    /// </summary>
    private static string Describe(JsonException e)
    {
        if (e.Path is { Length: > 2 } path && e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
            return $"{path[2..]} has the wrong type";
        string message = e.Message;
        int cut = message.LastIndexOf(" LineNumber:", StringComparison.Ordinal);
        message = (cut > 0 ? message[..cut] : message).TrimEnd(' ', '|', '.');
        int quoted = message.LastIndexOf("' is ", StringComparison.Ordinal);
        return message.StartsWith('\'') && quoted > 0 ? Excerpt.Quote(message[1..quoted]) + message[(quoted + 1)..] : message;
    }

    public static Task WriteAsync<T>(HttpContext http, T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(http.Response.Body, value, type, http.RequestAborted);
    }

    public static Task WriteErrorAsync(HttpContext http, ApiException e)
    {
        if (e.RetryAfter is { } seconds)
            http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return WriteAsync(http, new ErrorResponse(e.Body), ServerJson.Api.ErrorResponse, e.Status);
    }
}
