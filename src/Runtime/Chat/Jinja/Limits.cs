namespace LlamaAot.Chat.Jinja;

/// <summary>
/// Bounds on one rendering, so that a hostile template cannot hang or exhaust memory: each is a clear
/// TemplateError when crossed. The defaults are far above what a chat template needs (a conversation of thousands of
/// messages renders in well under the iteration bound).
/// </summary>
public sealed record JinjaLimits
{
    /// <summary>Most characters of output (and of any one string the template builds).</summary>
    public int MaxOutputChars { get; init; } = 8 << 20;

    /// <summary>Most loop iterations, summed over every loop of the rendering.</summary>
    public long MaxLoopIterations { get; init; } = 5_000_000;

    /// <summary>Most characters the rendering may build in all (concatenations, joins, filters), against quadratic growth.</summary>
    public long MaxWorkChars { get; init; } = 1L << 30;

    /// <summary>Deepest nesting of macro calls (Python's recursion limit would be 1000; no chat template nests more than a few).</summary>
    public int MaxCallDepth { get; init; } = 100;
}

/// <summary>
/// The longest string the rendering on this thread may build (<see cref="JinjaLimits.MaxOutputChars"/>), checked while a
/// string grows: a repr, a JSON dump, a join or a replace of a large value fails before it takes the memory, not
/// after. Thread-static because those helpers are Python's plain functions, called from many places without the
/// evaluator; <see cref="Evaluator.Render"/> sets it for the duration of a rendering.
/// </summary>
internal static class BuildLimit
{
    [ThreadStatic]
    private static int t_maxChars;

    public static int MaxChars
    {
        get => t_maxChars == 0 ? int.MaxValue : t_maxChars;
        set => t_maxChars = value;
    }

    public static void Check(long length)
    {
        if (length > MaxChars)
            throw new JinjaException("TemplateError", $"a string of more than {MaxChars} characters (the output limit)");
    }
}
