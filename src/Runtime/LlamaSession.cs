using System.Runtime.CompilerServices;

namespace LlamaAot;

/// <summary>
/// One conversation on a <see cref="LlamaContext"/>: its sequence of the KV cache (the tokens it holds, its position),
/// the sampler and stop rules of each generation. A session continues: each prompt is the whole text of the
/// conversation so far, and the part of it the cache already holds is not evaluated again (the cache is cut back to
/// where the prompt departs from it). Many sessions share one context (its weights, threads and buffers); calls from
/// several threads wait for each other there. Dispose the session to give its sequence back.
/// </summary>
/// <example>
/// <code>
/// using var context = model.CreateContext(new ContextOptions { ContextSize = 512 });
/// using var session = context.CreateSession();
/// foreach (string piece in session.Generate("Once upon a time", new GenerationOptions { MaxTokens = 32 }))
///     Console.Write(piece);
/// // The same text and more: only the new tokens are evaluated.
/// string more = string.Concat(session.Generate("Once upon a time there was a cat", new GenerationOptions { MaxTokens = 32 }));
/// </code>
/// </example>
public sealed class LlamaSession : IDisposable
{
    private long _logitsAt = -1; // the context's decode count after the decode that left the last held token's logits
    private bool _disposed;

    internal LlamaSession(LlamaContext context, int sequence)
    {
        Context = context;
        Sequence = sequence;
    }

    public LlamaContext Context { get; }

    /// <summary>The context's sequence this session holds (what a <see cref="LlamaBatch"/> names it by).</summary>
    public int Sequence { get; }

    /// <summary>Tokens the cache holds for this session: where the next one goes.</summary>
    public int Position => Context.SequenceLength(Sequence);

    /// <summary>The token ids the cache holds for this session; valid until its next evaluation or truncation.</summary>
    public ReadOnlySpan<int> Tokens => Context.SequenceTokens(Sequence);

    /// <summary>Counts and times of the last generation.</summary>
    public GenerationStats? LastStats { get; internal set; }

    /// <summary>The stop string that ended the last generation, if one did (the text handed out ends before it).</summary>
    public string? LastStopString { get; internal set; }

    /// <summary>The seed of the last generation's sampler (the one picked at random when none was given).</summary>
    public uint? LastSeed { get; internal set; }

    /// <summary>
    /// Evaluates <paramref name="tokens"/> after those the session holds and returns the last one's logits [nVocab]
    /// over the context's buffer: valid until the next decode on the context (copy them to keep them, or hold
    /// <see cref="LlamaContext.DecodeLock"/> while reading them). Cancelled between forward passes, it throws
    /// <see cref="OperationCanceledException"/> and the session holds the tokens evaluated until then.
    /// </summary>
    public ReadOnlySpan<float> Append(scoped ReadOnlySpan<int> tokens, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (Context.DecodeLock)
        {
            var logits = Context.EvaluateSequence(Sequence, tokens, allLogits: false, cancellationToken);
            _logitsAt = Context.Decodes;
            return logits;
        }
    }

    /// <summary>
    /// Forgets the tokens from <paramref name="position"/> on and returns where the next token goes: that position, or
    /// 0 on a sliding-window model whose cache no longer holds what a token there would read (see
    /// <see cref="LlamaContext.Truncate"/>).
    /// </summary>
    public int Truncate(int position)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Context.Truncate(Sequence, position);
    }

    /// <summary>
    /// Makes the session hold <paramref name="prompt"/>, evaluating only what the cache does not already hold, and
    /// returns the logits after its last token. Called with the context's lock held.
    /// </summary>
    internal ReadOnlySpan<float> Prefill(ReadOnlySpan<int> prompt, out int reused, CancellationToken cancellationToken)
    {
        var held = Context.SequenceTokens(Sequence);
        int common = held.CommonPrefixLength(prompt);
        if (common == prompt.Length && held.Length == prompt.Length && _logitsAt == Context.Decodes)
        {
            reused = common; // the last decode on the context was this session's, after the same last token
            return Context.LastLogits;
        }
        if (common == prompt.Length)
            common--; // the last token is evaluated again for its logits
        reused = Context.Truncate(Sequence, common);
        var logits = Context.EvaluateSequence(Sequence, prompt[reused..], allLogits: false, cancellationToken);
        _logitsAt = Context.Decodes;
        return logits;
    }

    /// <summary>Marks the logits the session's last decode left as no longer usable (they were changed).</summary>
    internal void ForgetLogits() => _logitsAt = -1;

    /// <summary>Generates text after <paramref name="prompt"/> (the conversation's whole text), streamed in pieces.</summary>
    public IEnumerable<string> Generate(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        GenerateTokens(prompt, options, cancellationToken).Select(t => t.Text).Where(t => t.Length > 0);

    /// <summary>
    /// Generates tokens after <paramref name="prompt"/>, the conversation's whole text (tokenized with BOS, special
    /// tokens parsed, as llama-cli does); the part of it the cache holds is reused. Each token comes with the text it
    /// completes; a last item with id -1 carries text still held back at the end.
    /// </summary>
    /// <exception cref="PromptTooLongException">The prompt does not fit in the session's context.</exception>
    public IEnumerable<GeneratedToken> GenerateTokens(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        GenerateTokens(Tokenize(prompt), options, cancellationToken);

    /// <summary>Generates tokens after <paramref name="prompt"/>, the conversation's whole list of token ids.</summary>
    /// <exception cref="PromptTooLongException">The prompt does not fit in the session's context.</exception>
    public IEnumerable<GeneratedToken> GenerateTokens(IReadOnlyList<int> prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        Run(Start(prompt, options), cancellationToken);

    /// <summary>The streaming form of <see cref="Generate"/>: each step runs on the thread pool.</summary>
    public async IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var token in GenerateTokensAsync(Tokenize(prompt), options, cancellationToken))
        {
            if (token.Text.Length > 0)
                yield return token.Text;
        }
    }

    /// <summary>The streaming form of <see cref="GenerateTokens(IReadOnlyList{int}, GenerationOptions?, CancellationToken)"/>: each step runs on the thread pool.</summary>
    public IAsyncEnumerable<GeneratedToken> GenerateTokensAsync(IReadOnlyList<int> prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(Start(prompt, options), cancellationToken);

    private int[] Tokenize(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return Context.Model.Tokenize(prompt, addSpecial: true, parseSpecial: true);
    }

    // Checked when called, not when enumeration starts.
    private Generation Start(IReadOnlyList<int> prompt, GenerationOptions? options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(prompt);
        if (prompt.Count == 0)
            throw new ArgumentException("the prompt has no tokens", nameof(prompt));
        if (prompt.Count >= Context.SequenceContextSize)
            throw new PromptTooLongException(prompt.Count, Context.SequenceContextSize);
        return new Generation(this, [.. prompt], options ?? new GenerationOptions());
    }

    private static IEnumerable<GeneratedToken> Run(Generation generation, CancellationToken cancellationToken)
    {
        try
        {
            while (generation.Next(cancellationToken) is { } token)
                yield return token;
            if (generation.Finish() is { Length: > 0 } rest)
                yield return new GeneratedToken(-1, rest);
        }
        finally
        {
            generation.Close();
        }
    }

    private static async IAsyncEnumerable<GeneratedToken> RunAsync(Generation generation, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            while (await Task.Run(() => generation.Next(cancellationToken), CancellationToken.None) is { } token)
                yield return token;
            if (generation.Finish() is { Length: > 0 } rest)
                yield return new GeneratedToken(-1, rest);
        }
        finally
        {
            generation.Close();
        }
    }

    /// <summary>Gives the session's sequence back to the context (its cache is forgotten when the next session takes it).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        Context.Release(Sequence);
    }
}
