using System.Threading.Channels;
using LlamaAot.Sampling;

namespace LlamaAot.Server.Scheduling;

/// <summary>
/// One generation asked of the <see cref="SlotScheduler"/>: the prompt's token ids, what to generate, the sampler that
/// chooses its tokens, and the token that ends it early (the client left, or a timeout). What it produces arrives on
/// <see cref="Events"/>: a <see cref="SlotEvent"/> per generated token, then one with <see cref="SlotEvent.Finish"/>
/// set, then the channel completes. A request whose cancellation fires while it waits or runs frees its place at the
/// scheduler's next step.
/// </summary>
internal sealed class SlotRequest
{
    private readonly Channel<SlotEvent> _events = Channel.CreateUnbounded<SlotEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    public SlotRequest(int[] prompt, GenerationOptions options, Sampler sampler, int logprobs, CancellationToken cancellation)
    {
        ArgumentOutOfRangeException.ThrowIfZero(prompt.Length);
        Prompt = prompt;
        Options = options;
        Sampler = sampler;
        Logprobs = logprobs;
        Cancellation = cancellation;
    }

    public int[] Prompt { get; }

    /// <summary>Max tokens, stop strings, ignore-eos and sampling (context shift is not offered by the server).</summary>
    public GenerationOptions Options { get; }

    /// <summary>
    /// Made with the request, its grammar bound to the vocabulary (a grammar that names a token the vocabulary does
    /// not have is refused before the request is queued), and the prompt accepted for the penalties.
    /// </summary>
    public Sampler Sampler { get; }

    /// <summary>Most likely alternatives to report with each token's log-probability; -1 reports none (no logprobs).</summary>
    public int Logprobs { get; }

    public CancellationToken Cancellation { get; }

    public ChannelReader<SlotEvent> Events => _events.Reader;

    internal ChannelWriter<SlotEvent> Writer => _events.Writer;

    /// <summary>Wakes the scheduler when the request is cancelled (disposed when the request leaves it).</summary>
    internal CancellationTokenRegistration Registration { get; set; }
}

/// <summary>A generated token's text (possibly empty: a character still incomplete), or the end of the generation.</summary>
/// <param name="Text">Text the token completes; at the end, the text that was held back.</param>
/// <param name="Logprob">The token's log-probability and the most likely alternatives, when they were asked for.</param>
/// <param name="Finish">Set on the last event only.</param>
internal readonly record struct SlotEvent(string Text, TokenLogprob? Logprob, SlotFinish? Finish);

/// <summary>A token's log-probability under the model (the softmax of its logits row) and the most likely alternatives.</summary>
internal sealed record TokenLogprob(string Token, byte[] Bytes, float Logprob, (string Token, byte[] Bytes, float Logprob)[] Top);

/// <summary>Why and how a generation ended.</summary>
/// <param name="Reason">OpenAI's finish_reason: "stop" (end of generation or a stop string) or "length" (max tokens or a full context).</param>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="CompletionTokens">Tokens generated.</param>
/// <param name="ReusedTokens">Prompt tokens the slot's cache already held (not evaluated again).</param>
/// <param name="Error">Set when the generation failed (the message for the client); null otherwise.</param>
/// <param name="Invalid">
/// The failure is the request's, not the server's (a 400, not a 500): its grammar cannot go on with this vocabulary (no
/// token continues it, or only end of generation does and ignore_eos suppresses it).
/// </param>
internal sealed record SlotFinish(string Reason, int PromptTokens, int CompletionTokens, int ReusedTokens, string? Error = null, bool Invalid = false);
