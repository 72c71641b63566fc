using System.Runtime.CompilerServices;

namespace LlamaAot.Chat.Jinja;

/// <summary>
/// Recursive descent over <see cref="Lexer"/>'s tokens into <see cref="Ast"/> nodes, with jinja2's grammar and
/// operator precedence (jinja2/parser.py): or, and, not, comparisons and <c>in</c>, <c>+ -</c>, <c>~</c>,
/// <c>* / // %</c>, <c>**</c>, unary minus, then postfix (<c>.a [i] (args)</c>) and filters and tests. Nesting
/// deeper than <see cref="MaxDepth"/> is a syntax error rather than a stack overflow.
/// </summary>
internal sealed class Parser
{
    public const int MaxDepth = 200;

    private static readonly HashSet<string> KnownTags =
        ["for", "if", "set", "macro", "call", "filter", "with", "generation", "break", "continue"];

    private readonly List<Token> _tokens;
    private readonly Func<int, (int Line, int Column)> _position;
    private int _i;
    private int _depth;
    private int _loops;

    private Parser(string source)
    {
        (_tokens, _position) = Lexer.Tokenize(source);
    }

    public static Stmt[] Parse(string source)
    {
        var parser = new Parser(source);
        var body = parser.Subparse([], out string? end);
        if (end is not null)
            throw parser.Error($"Encountered unknown tag '{end}'.", parser.Previous);
        return body;
    }

    private Token Current => _tokens[_i];

    private Token Previous => _tokens[Math.Max(0, _i - 1)];

    private int Line => _position(Current.Offset).Line;

    private JinjaException Error(string message, Token at)
    {
        var (line, column) = _position(at.Offset);
        return JinjaException.Syntax(message, line, column);
    }

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.End => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.Data => "template data",
        _ => $"'{Diagnostics.Excerpt.Quote(t.Text).Trim('\'')}'",
    };

    private Token Next() => _tokens[_i < _tokens.Count - 1 ? _i++ : _i];

    private bool IsOp(string op) => Current.Kind == TokenKind.Operator && Current.Text == op;

    private bool IsName(string name) => Current.Kind == TokenKind.Name && Current.Text == name;

    private bool SkipOp(string op)
    {
        if (!IsOp(op))
            return false;
        _i++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!IsName(name))
            return false;
        _i++;
        return true;
    }

    private void ExpectOp(string op)
    {
        if (!SkipOp(op))
            throw Error($"expected '{op}', got {Describe(Current)}", Current);
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name)
            throw Error($"expected a name, got {Describe(Current)}", Current);
        return Next().Text;
    }

    private void ExpectBlockEnd()
    {
        if (Current.Kind != TokenKind.BlockEnd)
            throw Error($"expected end of statement block, got {Describe(Current)}", Current);
        _i++;
    }

    private void Enter()
    {
        if (++_depth > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Error($"the template nests more than {MaxDepth} levels deep", Current);
    }

    /// <summary>Statements up to a block tag named in <paramref name="ends"/> (its name in <paramref name="end"/>, the tag consumed up to the name).</summary>
    private Stmt[] Subparse(string[] ends, out string? end)
    {
        Enter();
        var body = new List<Stmt>();
        end = null;
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.End:
                    if (ends.Length > 0)
                        throw Error($"unexpected end of template; jinja was looking for: {string.Join(" or ", ends.Select(e => $"'{e}'"))}", t);
                    _depth--;
                    return [.. body];
                case TokenKind.Data:
                    body.Add(new TextStmt(Line, Next().Text));
                    break;
                case TokenKind.VariableBegin:
                    _i++;
                    int line = Line;
                    var value = ParseTuple();
                    if (Current.Kind != TokenKind.VariableEnd)
                        throw Error($"expected end of print statement, got {Describe(Current)}", Current);
                    _i++;
                    body.Add(new OutputStmt(line, value));
                    break;
                case TokenKind.BlockBegin:
                    _i++;
                    if (Current.Kind == TokenKind.Name && ends.Contains(Current.Text))
                    {
                        end = Next().Text;
                        _depth--;
                        return [.. body];
                    }
                    if (Current.Kind == TokenKind.Name && !KnownTags.Contains(Current.Text) && ends.Length == 0)
                        throw Error($"Encountered unknown tag '{Current.Text}'.", Current);
                    if (Current.Kind == TokenKind.Name && !KnownTags.Contains(Current.Text))
                        throw Error($"Encountered unknown tag '{Current.Text}'. Jinja was looking for: {string.Join(" or ", ends.Select(e => $"'{e}'"))}", Current);
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected {Describe(t)}", t);
            }
        }
    }

    private Stmt[] Body(string[] ends, out string end)
    {
        var body = Subparse(ends, out string? found);
        end = found!;
        return body;
    }

    private Stmt ParseStatement()
    {
        var t = Current;
        int line = Line;
        string tag = ExpectName();
        switch (tag)
        {
            case "if":
                return ParseIf(line);
            case "for":
                return ParseFor(line);
            case "set":
                return ParseSet(line);
            case "macro":
                return ParseMacro(line);
            case "call":
                return ParseCallBlock(line);
            case "filter":
            {
                var filter = ParseFilterChain(null) ?? throw Error("expected a filter name", Current);
                ExpectBlockEnd();
                var body = Body(["endfilter"], out _);
                ExpectBlockEnd();
                return new FilterBlockStmt(line, filter, body);
            }
            case "with":
            {
                var assignments = new List<(Expr, Expr)>();
                while (Current.Kind != TokenKind.BlockEnd)
                {
                    if (assignments.Count > 0)
                        ExpectOp(",");
                    var target = ParseAssignTarget(allowNamespace: false);
                    ExpectOp("=");
                    assignments.Add((target, ParseExpression()));
                }
                ExpectBlockEnd();
                var body = Body(["endwith"], out _);
                ExpectBlockEnd();
                return new WithStmt(line, [.. assignments], body);
            }
            case "generation":
            {
                ExpectBlockEnd();
                var body = Body(["endgeneration"], out _);
                ExpectBlockEnd();
                return new GenerationStmt(line, body);
            }
            case "break" or "continue":
                if (_loops == 0)
                    throw Error($"'{tag}' outside of a loop", t);
                ExpectBlockEnd();
                return tag == "break" ? new BreakStmt(line) : new ContinueStmt(line);
            default:
                throw Error($"Encountered unknown tag '{tag}'.", t);
        }
    }

    private IfStmt ParseIf(int line)
    {
        var branches = new List<(Expr, Stmt[])>();
        Stmt[] otherwise = [];
        var test = ParseTuple(withCondition: false);
        while (true)
        {
            ExpectBlockEnd();
            var body = Body(["elif", "else", "endif"], out string end);
            branches.Add((test, body));
            if (end == "elif")
            {
                test = ParseTuple(withCondition: false);
                continue;
            }
            if (end == "else")
            {
                ExpectBlockEnd();
                otherwise = Body(["endif"], out _);
            }
            ExpectBlockEnd();
            return new IfStmt(line, [.. branches], otherwise);
        }
    }

    private ForStmt ParseFor(int line)
    {
        var target = ParseAssignTarget(allowNamespace: false, endName: "in");
        if (!SkipName("in"))
            throw Error($"expected 'in', got {Describe(Current)}", Current);
        var iter = ParseTuple(withCondition: false, endName: "recursive");
        Expr? filter = SkipName("if") ? ParseExpression() : null;
        if (IsName("recursive"))
            throw Error("recursive loops are not supported", Current);
        ExpectBlockEnd();
        _loops++;
        var body = Body(["endfor", "else"], out string end);
        _loops--;
        Stmt[] otherwise = [];
        if (end == "else")
        {
            ExpectBlockEnd();
            otherwise = Body(["endfor"], out _);
        }
        ExpectBlockEnd();
        return new ForStmt(line, target, iter, filter, body, otherwise);
    }

    private Stmt ParseSet(int line)
    {
        var target = ParseAssignTarget(allowNamespace: true);
        if (SkipOp("="))
        {
            var value = ParseTuple();
            ExpectBlockEnd();
            return new SetStmt(line, target, value);
        }
        var filter = SkipOp("|") ? ParseFilterChain(null) : null;
        ExpectBlockEnd();
        int loops = _loops;
        _loops = 0;
        var body = Body(["endset"], out _);
        _loops = loops;
        ExpectBlockEnd();
        return new SetBlockStmt(line, target, filter, body);
    }

    private MacroStmt ParseMacro(int line)
    {
        string name = ExpectName();
        var parameters = ParseParameters();
        ExpectBlockEnd();
        int loops = _loops;
        _loops = 0;
        var body = Body(["endmacro"], out _);
        _loops = loops;
        ExpectBlockEnd();
        return new MacroStmt(line, name, parameters, body);
    }

    private CallBlockStmt ParseCallBlock(int line)
    {
        Parameter[] parameters = IsOp("(") ? ParseParameters() : [];
        var call = ParseExpression() as CallExpr ?? throw Error("expected a call after 'call'", Previous);
        ExpectBlockEnd();
        int loops = _loops;
        _loops = 0;
        var body = Body(["endcall"], out _);
        _loops = loops;
        ExpectBlockEnd();
        return new CallBlockStmt(line, call, parameters, body);
    }

    /// <summary><c>(a, b=default, ...)</c> of a macro or a call block.</summary>
    private Parameter[] ParseParameters()
    {
        ExpectOp("(");
        var parameters = new List<Parameter>();
        while (!SkipOp(")"))
        {
            if (parameters.Count > 0)
                ExpectOp(",");
            if (SkipOp(")"))
                break;
            string name = ExpectName();
            Expr? value = SkipOp("=") ? ParseExpression() : null;
            if (value is null && parameters.Count > 0 && parameters[^1].Default is not null)
                throw Error("non-default argument follows default argument", Previous);
            parameters.Add(new Parameter(name, value));
        }
        return [.. parameters];
    }

    /// <summary>A name, <c>ns.attr</c> (set only) or a tuple of names (<c>for k, v in ...</c>).</summary>
    private Expr ParseAssignTarget(bool allowNamespace, string? endName = null)
    {
        int line = Line;
        var names = new List<Expr>();
        bool tuple = false;
        bool parenthesized = SkipOp("(");
        while (true)
        {
            string name = ExpectName();
            if (allowNamespace && names.Count == 0 && SkipOp("."))
                return new AttrExpr(line, new NameExpr(line, name), ExpectName());
            names.Add(new NameExpr(line, name));
            if (!SkipOp(","))
                break;
            tuple = true;
            if (Current.Kind != TokenKind.Name || (endName is not null && IsName(endName)))
                break;
        }
        if (parenthesized)
        {
            ExpectOp(")");
            tuple = true;
        }
        return tuple ? new ListExpr(line, [.. names], Tuple: true) : names[0];
    }

    /// <summary>jinja2's parse_tuple: an expression, or several separated by commas (a tuple).</summary>
    private Expr ParseTuple(bool withCondition = true, string? endName = null)
    {
        int line = Line;
        var items = new List<Expr>();
        bool comma = false;
        while (true)
        {
            if (items.Count > 0)
            {
                if (!SkipOp(","))
                    break;
                comma = true;
            }
            if (IsTupleEnd(endName))
                break;
            items.Add(withCondition ? ParseExpression() : ParseOr());
        }
        if (items.Count == 0 && !comma)
            throw Error($"expected an expression, got {Describe(Current)}", Current);
        return !comma ? items[0] : new ListExpr(line, [.. items], Tuple: true);
    }

    private bool IsTupleEnd(string? endName) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.End
        || IsOp(")") || IsOp("]") || IsOp("}") || IsOp("=")
        || (Current.Kind == TokenKind.Name && (Current.Text == "if" || Current.Text == endName) && endName is not null);

    private Expr ParseExpression(bool withCondition = true)
    {
        Enter();
        int line = Line;
        var expr = ParseOr();
        if (withCondition)
        {
            while (SkipName("if"))
            {
                var test = ParseOr();
                Expr? otherwise = SkipName("else") ? ParseExpression() : null;
                expr = new CondExpr(line, test, expr, otherwise);
            }
        }
        _depth--;
        return expr;
    }

    /// <summary>A left-associative chain of <paramref name="operand"/>s joined by the operators <paramref name="isOperator"/> accepts.</summary>
    private Expr LeftAssociative(Func<Expr> operand, Func<bool> isOperator)
    {
        var left = operand();
        while (isOperator())
        {
            int line = Line;
            string op = Next().Text;
            left = new BinaryExpr(line, op, left, operand());
        }
        return left;
    }

    private Expr ParseOr() => LeftAssociative(ParseAnd, () => IsName("or"));

    private Expr ParseAnd() => LeftAssociative(ParseNot, () => IsName("and"));

    private Expr ParseNot()
    {
        if (IsName("not"))
        {
            int line = Line;
            _i++;
            Enter();
            var operand = ParseNot();
            _depth--;
            return new UnaryExpr(line, "not", operand);
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        int line = Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Current.Text is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                string op = Next().Text;
                rest.Add((op, ParseMath1()));
            }
            else if (SkipName("in"))
                rest.Add(("in", ParseMath1()));
            else if (IsName("not") && _tokens[_i + 1] is { Kind: TokenKind.Name, Text: "in" })
            {
                _i += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else
                break;
        }
        return rest.Count == 0 ? first : new CompareExpr(line, first, [.. rest]);
    }

    private Expr ParseMath1() => LeftAssociative(ParseConcat, () => IsOp("+") || IsOp("-"));

    private Expr ParseConcat() => LeftAssociative(ParseMath2, () => IsOp("~"));

    private Expr ParseMath2() => LeftAssociative(ParsePow, () => IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%"));

    private Expr ParsePow() => LeftAssociative(() => ParseUnary(), () => IsOp("**"));

    private Expr ParseUnary(bool withFilter = true)
    {
        Enter();
        int line = Line;
        Expr node;
        if (IsOp("-") || IsOp("+"))
        {
            string op = Next().Text;
            node = new UnaryExpr(line, op, ParseUnary(withFilter: false));
        }
        else
            node = ParsePostfix(ParsePrimary());
        if (withFilter)
            node = ParseFiltersAndTests(node);
        _depth--;
        return node;
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        int line = Line;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _i++;
                return t.Text switch
                {
                    "true" or "True" => new ConstExpr(line, true),
                    "false" or "False" => new ConstExpr(line, false),
                    "none" or "None" => new ConstExpr(line, null),
                    _ => new NameExpr(line, t.Text),
                };
            case TokenKind.String:
            {
                _i++;
                string s = (string)t.Value!;
                while (Current.Kind == TokenKind.String)
                    s += (string)Next().Value!;
                return new ConstExpr(line, s);
            }
            case TokenKind.Integer or TokenKind.Float:
                _i++;
                return new ConstExpr(line, t.Value);
        }
        if (SkipOp("("))
        {
            if (SkipOp(")"))
                return new ListExpr(line, [], Tuple: true);
            var inner = ParseTuple();
            ExpectOp(")");
            return inner;
        }
        if (SkipOp("["))
        {
            var items = new List<Expr>();
            while (!SkipOp("]"))
            {
                if (items.Count > 0)
                    ExpectOp(",");
                if (SkipOp("]"))
                    break;
                items.Add(ParseExpression());
            }
            return new ListExpr(line, [.. items], Tuple: false);
        }
        if (SkipOp("{"))
        {
            var items = new List<(Expr, Expr)>();
            while (!SkipOp("}"))
            {
                if (items.Count > 0)
                    ExpectOp(",");
                if (SkipOp("}"))
                    break;
                var key = ParseExpression();
                ExpectOp(":");
                items.Add((key, ParseExpression()));
            }
            return new DictExpr(line, [.. items]);
        }
        throw Error($"unexpected {Describe(t)}", t);
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            int line = Line;
            if (SkipOp("."))
            {
                var t = Next();
                node = t.Kind switch
                {
                    TokenKind.Name => new AttrExpr(line, node, t.Text),
                    TokenKind.Integer => new ItemExpr(line, node, new ConstExpr(line, t.Value)),
                    _ => throw Error($"expected an attribute name after '.', got {Describe(t)}", t),
                };
            }
            else if (SkipOp("["))
            {
                var index = ParseSubscript();
                ExpectOp("]");
                node = new ItemExpr(line, node, index);
            }
            else if (IsOp("("))
                node = new CallExpr(line, node, ParseArguments());
            else
                return node;
        }
    }

    private Expr ParseSubscript()
    {
        int line = Line;
        Expr? start = IsOp(":") ? null : ParseExpression();
        if (!SkipOp(":"))
            return start!;
        Expr? stop = IsOp("]") || IsOp(":") ? null : ParseExpression();
        Expr? step = null;
        if (SkipOp(":") && !IsOp("]"))
            step = ParseExpression();
        return new SliceExpr(line, start, stop, step);
    }

    private Arguments ParseArguments()
    {
        ExpectOp("(");
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        while (!SkipOp(")"))
        {
            if (positional.Count + keywords.Count > 0)
            {
                ExpectOp(",");
                if (SkipOp(")"))
                    break;
            }
            if (Current.Kind == TokenKind.Name && _tokens[_i + 1] is { Kind: TokenKind.Operator, Text: "=" })
            {
                string name = Next().Text;
                _i++;
                keywords.Add((name, ParseExpression()));
            }
            else
            {
                if (keywords.Count > 0)
                    throw Error("positional argument follows keyword argument", Current);
                positional.Add(ParseExpression());
            }
        }
        return new Arguments([.. positional], [.. keywords]);
    }

    private Expr ParseFiltersAndTests(Expr node)
    {
        while (true)
        {
            if (IsOp("|"))
                node = ParseFilterChain(node)!;
            else if (IsName("is"))
            {
                int line = Line;
                _i++;
                bool negated = SkipName("not");
                string name = ExpectName();
                while (SkipOp("."))
                    name += "." + ExpectName();
                Arguments args = Arguments.None;
                if (IsOp("("))
                    args = ParseArguments();
                else if (Current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                         || IsOp("[") || IsOp("{") || IsOp("-"))
                {
                    if (!(Current.Kind == TokenKind.Name && Current.Text is "else" or "or" or "and" or "if" or "in" or "not" or "is"))
                        args = new Arguments([ParsePostfix(ParsePrimary())], []);
                }
                node = new TestExpr(line, node, name, args, negated);
            }
            else
                return node;
        }
    }

    /// <summary><c>| name(args) | name ...</c> over <paramref name="value"/> (null: a filter block's body).</summary>
    private FilterExpr? ParseFilterChain(Expr? value)
    {
        FilterExpr? chain = null;
        bool first = value is null;
        while (first || IsOp("|"))
        {
            if (!first)
                _i++;
            first = false;
            int line = Line;
            if (Current.Kind != TokenKind.Name)
            {
                if (value is null && chain is null)
                    return null;
                throw Error($"expected a filter name, got {Describe(Current)}", Current);
            }
            string name = Next().Text;
            while (SkipOp("."))
                name += "." + ExpectName();
            var args = IsOp("(") ? ParseArguments() : Arguments.None;
            chain = new FilterExpr(line, (Expr?)chain ?? value, name, args);
        }
        return chain;
    }
}
