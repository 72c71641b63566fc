namespace LlamaAot.Chat.Jinja;

/// <summary>
/// A template that does not compile or fails while it renders. <see cref="Kind"/> is the name of the jinja2 exception
/// Python would raise (TemplateSyntaxError, UndefinedError, TypeError, SecurityError, TemplateError for
/// raise_exception, ...), so a message reads like transformers' own; limits that jinja2 lacks (loop iterations, output
/// size, nesting) are TemplateError too. Syntax errors carry the line and column (1-based).
/// </summary>
public sealed class JinjaException : Exception
{
    public JinjaException(string kind, string message, int line = 0, int column = 0)
        : base(Format(kind, message, line, column))
    {
        Kind = kind;
        Detail = message;
        Line = line;
        Column = column;
    }

    /// <summary>The jinja2 exception class this failure corresponds to.</summary>
    public string Kind { get; }

    /// <summary>The message without kind and position.</summary>
    public string Detail { get; }

    /// <summary>Template line (1-based), or 0 where unknown.</summary>
    public int Line { get; }

    /// <summary>Column (1-based) of a syntax error, else 0.</summary>
    public int Column { get; }

    internal static JinjaException Syntax(string message, int line, int column) => new("TemplateSyntaxError", message, line, column);

    /// <summary>This error placed at <paramref name="line"/>, unless it already has a place.</summary>
    internal JinjaException At(int line) => Line > 0 || line <= 0 ? this : new(Kind, Detail, line);

    internal static JinjaException Type(string message) => new("TypeError", message);

    private static string Format(string kind, string message, int line, int column) =>
        line <= 0 ? $"{kind}: {message}"
        : column <= 0 ? $"{kind}: {message} (template line {line})"
        : $"{kind}: {message} (template line {line}, column {column})";
}
