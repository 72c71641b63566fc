namespace LlamaAot.Chat.Jinja;

// The syntax tree the parser builds and the evaluator walks. Every node knows its template line, for errors.

internal abstract record Node(int Line);

internal abstract record Expr(int Line) : Node(Line);

internal sealed record ConstExpr(int Line, object? Value) : Expr(Line);

internal sealed record NameExpr(int Line, string Name) : Expr(Line);

internal sealed record ListExpr(int Line, Expr[] Items, bool Tuple) : Expr(Line);

internal sealed record DictExpr(int Line, (Expr Key, Expr Value)[] Items) : Expr(Line);

internal sealed record AttrExpr(int Line, Expr Target, string Name) : Expr(Line);

internal sealed record ItemExpr(int Line, Expr Target, Expr Index) : Expr(Line);

internal sealed record SliceExpr(int Line, Expr? Start, Expr? Stop, Expr? Step) : Expr(Line);

/// <summary>Positional and keyword arguments of a call, a filter or a test.</summary>
internal sealed record Arguments(Expr[] Positional, (string Name, Expr Value)[] Keywords)
{
    public static readonly Arguments None = new([], []);
}

internal sealed record CallExpr(int Line, Expr Target, Arguments Args) : Expr(Line);

internal sealed record FilterExpr(int Line, Expr? Value, string Name, Arguments Args) : Expr(Line);

internal sealed record TestExpr(int Line, Expr Value, string Name, Arguments Args, bool Negated) : Expr(Line);

internal sealed record UnaryExpr(int Line, string Op, Expr Operand) : Expr(Line);

internal sealed record BinaryExpr(int Line, string Op, Expr Left, Expr Right) : Expr(Line);

internal sealed record CompareExpr(int Line, Expr First, (string Op, Expr Operand)[] Rest) : Expr(Line);

internal sealed record CondExpr(int Line, Expr Test, Expr Then, Expr? Else) : Expr(Line);

internal abstract record Stmt(int Line) : Node(Line);

internal sealed record TextStmt(int Line, string Text) : Stmt(Line);

internal sealed record OutputStmt(int Line, Expr Value) : Stmt(Line);

internal sealed record IfStmt(int Line, (Expr Test, Stmt[] Body)[] Branches, Stmt[] Else) : Stmt(Line);

/// <summary><c>for Target in Iter [if Filter]</c>; Target is a name or a tuple of names.</summary>
internal sealed record ForStmt(int Line, Expr Target, Expr Iter, Expr? Filter, Stmt[] Body, Stmt[] Else) : Stmt(Line);

/// <summary><c>set Target = Value</c>; Target is a name, a tuple of names or <c>ns.attr</c>.</summary>
internal sealed record SetStmt(int Line, Expr Target, Expr Value) : Stmt(Line);

/// <summary><c>{% set name | filters %}Body{% endset %}</c>: Filter is a filter chain over a null value.</summary>
internal sealed record SetBlockStmt(int Line, Expr Target, FilterExpr? Filter, Stmt[] Body) : Stmt(Line);

internal sealed record Parameter(string Name, Expr? Default);

internal sealed record MacroStmt(int Line, string Name, Parameter[] Parameters, Stmt[] Body) : Stmt(Line);

internal sealed record CallBlockStmt(int Line, CallExpr Call, Parameter[] Parameters, Stmt[] Body) : Stmt(Line);

internal sealed record FilterBlockStmt(int Line, FilterExpr Filter, Stmt[] Body) : Stmt(Line);

internal sealed record WithStmt(int Line, (Expr Target, Expr Value)[] Assignments, Stmt[] Body) : Stmt(Line);

/// <summary>transformers' <c>{% generation %}</c>: renders its body (it marks the assistant's tokens for training).</summary>
internal sealed record GenerationStmt(int Line, Stmt[] Body) : Stmt(Line);

internal sealed record BreakStmt(int Line) : Stmt(Line);

internal sealed record ContinueStmt(int Line) : Stmt(Line);
