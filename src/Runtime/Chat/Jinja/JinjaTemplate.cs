namespace LlamaAot.Chat.Jinja;

/// <summary>
/// A compiled Jinja template with transformers' chat-template settings (jinja2 3.1's ImmutableSandboxedEnvironment,
/// trim_blocks, lstrip_blocks, loopcontrols, <c>{% generation %}</c>, <c>raise_exception</c>, <c>strftime_now</c>).
/// Compiling fails with a <see cref="JinjaException"/> (TemplateSyntaxError, with line and column); so does rendering
/// when the template raises, misuses a value, or crosses a <see cref="JinjaLimits"/> bound.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly Stmt[] _body;

    private JinjaTemplate(Stmt[] body) => _body = body;

    public static JinjaTemplate Compile(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new JinjaTemplate(Parser.Parse(source));
    }

    /// <summary>Renders with <paramref name="variables"/> (JSON values: objects, arrays, strings, numbers, booleans, null).</summary>
    /// <param name="clock">What <c>strftime_now</c> reads; the local time when null.</param>
    public string Render(IReadOnlyDictionary<string, System.Text.Json.Nodes.JsonNode?> variables, Func<DateTime>? clock = null, JinjaLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var evaluator = new Evaluator(limits ?? new JinjaLimits(), clock ?? (() => DateTime.Now));
        var globals = new Scope(null);
        Globals.AddTo(globals, evaluator);
        foreach (var (name, value) in variables)
            globals.Set(name, Json.FromNode(value));
        return evaluator.Render(_body, globals);
    }
}
