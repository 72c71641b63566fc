namespace LlamaAot.Sampling;

/// <summary>
/// A grammar or JSON schema that cannot be used: a syntax error (with its line and column), an undefined rule, left
/// recursion, a size bound passed, or, while generating, a state no token can continue. An argument exception:
/// the grammar given is what is wrong.
/// </summary>
public sealed class GrammarException : ArgumentException
{
    public GrammarException(string message) : base(message)
    {
    }

    internal GrammarException(string message, int line, int column)
        : base($"line {line}, column {column}: {message}")
    {
        Line = line;
        Column = column;
    }

    /// <summary>The 1-based line of a syntax error in the grammar text, or 0 when the error has no place.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (in characters) of a syntax error, or 0 when the error has no place.</summary>
    public int Column { get; }
}
