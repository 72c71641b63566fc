namespace LlamaAot.Sampling;

/// <summary>
/// How the next token is chosen from the logits. The defaults are llama.cpp's (<c>common_params_sampling</c> in
/// <c>common/common.h</c>, b4748), and so are the meanings of the "disabled" values. Every value is checked when it
/// is set (also through <c>with</c>), so an options object that exists is valid.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>
    /// Divides the logits before the final draw (<c>--temp</c>, default 0.8). Zero or less means greedy: the
    /// token with the largest (penalized) logit, the first one on ties, with no random draw.
    /// </summary>
    public float Temperature
    {
        get;
        init => field = float.IsFinite(value) ? value
            : throw Invalid(nameof(Temperature), value, "must be a finite number (0 or less means greedy)");
    } = 0.8f;

    /// <summary>Keep only the K most likely tokens (<c>--top-k</c>, default 40); 0 disables the step.</summary>
    public int TopK
    {
        get;
        init => field = value >= 0 ? value
            : throw Invalid(nameof(TopK), value, "must be 0 (disabled) or more");
    } = 40;

    /// <summary>
    /// Nucleus sampling (<c>--top-p</c>, default 0.95): keep the most likely tokens until their probabilities add up
    /// to at least P, including the token that crosses P. Must be in (0, 1]; 1 disables the step.
    /// </summary>
    public float TopP
    {
        get;
        init => field = value > 0f && value <= 1f ? value
            : throw Invalid(nameof(TopP), value, "must be in (0, 1] (1 disables top-p)");
    } = 0.95f;

    /// <summary>
    /// Drop tokens whose probability is below MinP times the probability of the most likely token (<c>--min-p</c>,
    /// default 0.05). Must be in [0, 1]; 0 disables the step.
    /// </summary>
    public float MinP
    {
        get;
        init => field = value >= 0f && value <= 1f ? value
            : throw Invalid(nameof(MinP), value, "must be in [0, 1] (0 disables min-p)");
    } = 0.05f;

    /// <summary>
    /// Repetition penalty (<c>--repeat-penalty</c>, default 1.0 = disabled): the logit of each distinct token among
    /// the last <see cref="RepeatLastN"/> accepted ones is divided by it when positive, multiplied by it otherwise.
    /// Must be greater than 0.
    /// </summary>
    public float RepeatPenalty
    {
        get;
        init => field = value > 0f && float.IsFinite(value) ? value
            : throw Invalid(nameof(RepeatPenalty), value, "must be a finite number greater than 0 (1 disables it)");
    } = 1.0f;

    /// <summary>
    /// How many of the last accepted tokens the penalties look at (<c>--repeat-last-n</c>, default 64): 0 disables
    /// the penalties, -1 means the whole context (the sampler then needs the context length).
    /// </summary>
    public int RepeatLastN
    {
        get;
        init => field = value >= -1 ? value
            : throw Invalid(nameof(RepeatLastN), value, "must be -1 (whole context), 0 (disabled) or more");
    } = 64;

    /// <summary>
    /// Subtracted from a token's logit once per occurrence in the penalty window (<c>--frequency-penalty</c>,
    /// default 0 = disabled).
    /// </summary>
    public float FrequencyPenalty
    {
        get;
        init => field = float.IsFinite(value) ? value
            : throw Invalid(nameof(FrequencyPenalty), value, "must be a finite number (0 disables it)");
    } = 0f;

    /// <summary>
    /// Subtracted once from the logit of every token present in the penalty window (<c>--presence-penalty</c>,
    /// default 0 = disabled).
    /// </summary>
    public float PresencePenalty
    {
        get;
        init => field = float.IsFinite(value) ? value
            : throw Invalid(nameof(PresencePenalty), value, "must be a finite number (0 disables it)");
    } = 0f;

    /// <summary>
    /// Seed of the random draw (<c>--seed</c>). Null (the default) picks a random seed, as llama.cpp does for
    /// <c>LLAMA_DEFAULT_SEED</c>; the seed in use is <see cref="Sampler.Seed"/>. A command line that accepts
    /// llama.cpp's <c>--seed -1</c> maps it to null.
    /// </summary>
    public uint? Seed { get; init; }

    /// <summary>
    /// Constrains the output to the sentences of a grammar (<c>--grammar</c>, <c>--json-schema</c>; default none):
    /// tokens that cannot continue one are never chosen, and end of generation comes only where the sentence is
    /// complete. <see cref="Sampling.Grammar.Parse"/> reads GBNF, <see cref="Sampling.Grammar.FromJsonSchema"/> a JSON
    /// schema. A sampler with a grammar needs the vocabulary: create it with the tokenizer.
    /// </summary>
    public Grammar? Grammar { get; init; }

    /// <summary>True when the penalty step changes anything (llama_sampler_penalties_apply's early return).</summary>
    internal bool PenaltiesEnabled =>
        RepeatLastN != 0 && (RepeatPenalty != 1f || FrequencyPenalty != 0f || PresencePenalty != 0f);

    // The exception appends the parameter name and "Actual value was ..." to this message.
    private static ArgumentOutOfRangeException Invalid<T>(string name, T value, string rule) =>
        new(name, value, $"{nameof(SamplingOptions)}.{name} {rule}.");
}
