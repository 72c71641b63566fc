using System.Diagnostics;

namespace LlamaAot.Sampling;

/// <summary>
/// Picks the next token from a row of logits with llama.cpp's default sampler chain (b4748,
/// <c>common_sampler_init</c>): penalties, top-k, top-p, min-p, temperature, then a seeded draw from the softmax
/// (<c>llama_sampler_init_dist</c>). The steps llama.cpp also lists there (DRY, typical-p, XTC) are disabled by its
/// defaults and not implemented.
/// </summary>
/// <remarks>
/// <para>With <see cref="SamplingOptions.Temperature"/> at 0 or less the choice is greedy: the largest logit after
/// the penalties, the lowest token id on ties, and no random number is drawn. (llama.cpp reaches the same token
/// through its chain, since top-k, top-p and min-p always keep the best token, but still draws from its RNG.)</para>
/// <para>The caller reports each token it generates through <see cref="Accept"/>, and the prompt's tokens, if they
/// should count for the penalties, through <see cref="AcceptPrompt"/> (they do not advance a grammar):
/// <see cref="Sample"/> does not accept the token it returns, as <c>common_sampler_sample</c> does not.</para>
/// <para>With a <see cref="SamplingOptions.Grammar"/>, the chain runs first on every candidate and the chosen token
/// is then checked against the grammar; only when the grammar rejects it does the grammar filter the whole
/// vocabulary and the chain run again (with a new random draw): llama.cpp's <c>common_sampler_sample</c> with
/// <c>grammar_first</c> off. The grammar thus comes before the penalties, as there.</para>
/// <para>Buffers are allocated once here; without a grammar <see cref="Sample"/> allocates nothing. Not thread-safe.</para>
/// </remarks>
public sealed class Sampler
{
    // llama.cpp's common_params_sampling.min_keep is 0, which top-p and min-p treat as 1: they always keep the best.
    private const int MinKeep = 1;

    private readonly SamplingOptions _options;
    private readonly int _nVocab;
    private readonly CandidateSet _candidates;
    private readonly PenaltyHistory _history;
    private readonly GrammarMatcher? _grammar;
    private Xoshiro256StarStar _rng;
    private long _grammarTicks; // Stopwatch ticks spent in the grammar's checks, filtering and steps

    /// <summary>Creates a sampler for a vocabulary of <paramref name="nVocab"/> tokens.</summary>
    /// <param name="options">The sampling settings.</param>
    /// <param name="nVocab">Number of logits per row (the model's <c>nVocab</c>).</param>
    /// <param name="nCtx">
    /// The context length; needed when <see cref="SamplingOptions.RepeatLastN"/> is -1, which makes the penalty
    /// window that long (as llama.cpp sets <c>penalty_last_n = n_ctx</c>). When given, a longer window is cut to it.
    /// </param>
    /// <exception cref="ArgumentException">The options have a grammar: that needs the other constructor.</exception>
    public Sampler(SamplingOptions options, int nVocab, int nCtx = 0)
        : this(options, nVocab, nCtx, null)
    {
    }

    /// <summary>
    /// Creates a sampler for the vocabulary of <paramref name="tokenizer"/>; the one to use with a
    /// <see cref="SamplingOptions.Grammar"/>, which needs each token's text.
    /// </summary>
    /// <exception cref="GrammarException">The grammar names a token (<c>&lt;|name|&gt;</c>) that is not one token here.</exception>
    public Sampler(SamplingOptions options, Tokenizers.Tokenizer tokenizer, int nCtx = 0)
        : this(options, tokenizer.Vocabulary.Count, nCtx, tokenizer)
    {
    }

    private Sampler(SamplingOptions options, int nVocab, int nCtx, Tokenizers.Tokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nVocab);
        ArgumentOutOfRangeException.ThrowIfNegative(nCtx);
        if (options.RepeatLastN == -1 && nCtx == 0)
            throw new ArgumentException(
                $"{nameof(SamplingOptions)}.{nameof(SamplingOptions.RepeatLastN)} is -1 (the whole context), so the sampler needs the context length: pass {nameof(nCtx)}.",
                nameof(nCtx));

        _options = options;
        _nVocab = nVocab;
        _candidates = new CandidateSet(nVocab);
        // A window longer than the context never holds more than the context's tokens: it penalizes the same tokens
        // as one of the context's length, which is all it allocates (llama.cpp takes --repeat-last-n 2147483647).
        _history = new PenaltyHistory(options.RepeatLastN == -1 || (nCtx > 0 && options.RepeatLastN > nCtx) ? nCtx : options.RepeatLastN);
        Seed = options.Seed ?? RandomSeed();
        _rng = new Xoshiro256StarStar(Seed);
        if (options.Grammar is not null)
        {
            if (tokenizer is null)
                throw new ArgumentException($"a sampler with a grammar needs the vocabulary: create it with the model's tokenizer", nameof(options));
            _grammar = new GrammarMatcher(options.Grammar, GrammarVocabulary.For(tokenizer));
        }
    }

    /// <summary>Tokens sampled under the grammar since the sampler was created or reset.</summary>
    public int GrammarSamples { get; private set; }

    /// <summary>
    /// Of <see cref="GrammarSamples"/>, how many needed the whole-vocabulary pass: the chain's first choice broke the
    /// grammar, so every candidate was checked and the chain ran again.
    /// </summary>
    public int GrammarFullPasses { get; private set; }

    /// <summary>
    /// Time spent in the grammar since the sampler was created or reset: checking the chain's choice, filtering the
    /// vocabulary, and advancing over accepted tokens (the sampler chain's own work is not counted).
    /// </summary>
    public TimeSpan GrammarTime => Stopwatch.GetElapsedTime(0, _grammarTicks);

    /// <summary>
    /// True when there is no grammar or the text accepted so far is a whole sentence of it (a run cut short by a
    /// token limit leaves it false).
    /// </summary>
    public bool GrammarComplete => _grammar?.IsComplete ?? true;

    /// <summary>The settings this sampler was made with.</summary>
    public SamplingOptions Options => _options;

    /// <summary>
    /// The seed in use: <see cref="SamplingOptions.Seed"/>, or the one picked at random when that is null
    /// (llama.cpp's <c>llama_sampler_get_seed</c>). Passing it back as the seed repeats the run.
    /// </summary>
    public uint Seed { get; private set; }

    /// <summary>Chooses the next token from one row of <paramref name="logits"/> (one per vocabulary token).</summary>
    /// <returns>The token id.</returns>
    public int Sample(ReadOnlySpan<float> logits)
    {
        if (logits.Length != _nVocab)
            throw new ArgumentException($"expected {_nVocab} logits (the vocabulary size), got {logits.Length}.", nameof(logits));

        CandidateSet set = _candidates;
        set.Load(logits);
        if (_grammar is null)
            return Chain(set);

        GrammarSamples++;
        int id = Chain(set);
        long start = Stopwatch.GetTimestamp();
        bool allowed = _grammar.Allows(id);
        _grammarTicks += Stopwatch.GetTimestamp() - start;
        if (allowed)
            return id;

        // Rejected: run the chain again on the tokens of the whole vocabulary that the grammar allows. Its penalties
        // come first, while the candidates are still in id order (they find a token at its id); the grammar only
        // drops tokens, so the result is llama.cpp's, whose grammar step comes first and whose penalties search.
        GrammarFullPasses++;
        set.Load(logits);
        Penalties.Apply(set, _history, _options);
        start = Stopwatch.GetTimestamp();
        int kept = _grammar.Apply(set);
        _grammarTicks += Stopwatch.GetTimestamp() - start;
        if (kept == 0 || !HasFiniteLogit(set))
            throw new GrammarException("no token of the vocabulary can continue the grammar here (the grammar needs a character no token has, or only end of generation fits and it is suppressed)");
        return Choose(set);
    }

    /// <summary>The chain on the loaded candidates, in id order: penalties, then <see cref="Choose"/>.</summary>
    private int Chain(CandidateSet set)
    {
        Penalties.Apply(set, _history, _options);
        return Choose(set);
    }

    /// <summary>The chain after the penalties: greedy, or top-k, top-p, min-p, temperature and a draw.</summary>
    private int Choose(CandidateSet set)
    {
        if (_options.Temperature <= 0f)
            return set.Items[Greedy.ArgMax(set.Items)].Id;

        TopK.Apply(set, _options.TopK);
        TopP.Apply(set, _options.TopP, MinKeep);
        MinP.Apply(set, _options.MinP, MinKeep);
        Temperature.Apply(set, _options.Temperature);
        return set.Items[Distribution.Draw(set, ref _rng)].Id;
    }

    private static bool HasFiniteLogit(CandidateSet set)
    {
        foreach (ref readonly TokenData t in set.Items)
            if (t.Logit > float.NegativeInfinity)
                return true;
        return false;
    }

    /// <summary>
    /// Records a generated token (<c>common_sampler_accept</c> with <c>is_generated</c>): it counts for the
    /// penalties (the last <see cref="SamplingOptions.RepeatLastN"/> accepted tokens are penalized) and advances the
    /// grammar, if any.
    /// </summary>
    /// <exception cref="GrammarException">The token does not continue the grammar.</exception>
    public void Accept(int token)
    {
        CheckToken(token);
        if (_grammar is not null)
        {
            long start = Stopwatch.GetTimestamp();
            _grammar.Accept(token);
            _grammarTicks += Stopwatch.GetTimestamp() - start;
        }
        _history.Accept(token);
    }

    /// <summary>
    /// Records tokens of the prompt (or of earlier turns) for the penalties only: they do not advance the grammar,
    /// which constrains what is generated (<c>common_sampler_accept</c> without <c>is_generated</c>).
    /// </summary>
    public void AcceptPrompt(ReadOnlySpan<int> tokens)
    {
        foreach (int token in tokens)
            CheckToken(token);
        foreach (int token in tokens)
            _history.Accept(token);
    }

    private void CheckToken(int token)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(token);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(token, _nVocab);
    }

    /// <summary>
    /// Starts over (<c>common_sampler_reset</c>): forgets the accepted tokens, goes back to the grammar's start, and reseeds the random numbers, with
    /// the same seed when one was given (so the same draws follow) or a new random one otherwise.
    /// </summary>
    public void Reset()
    {
        _history.Clear();
        _grammar?.Reset();
        GrammarSamples = GrammarFullPasses = 0;
        _grammarTicks = 0;
        Seed = _options.Seed ?? RandomSeed();
        _rng = new Xoshiro256StarStar(Seed);
    }

    // Random.Shared is seeded by the runtime from the OS; it needs no native crypto library in a static binary.
    private static uint RandomSeed() => (uint)Random.Shared.NextInt64(0, 1L << 32);
}
