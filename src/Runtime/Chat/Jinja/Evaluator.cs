using System.Runtime.CompilerServices;
using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>Variables of one scope: the template's globals, a loop iteration, a macro call, a with block.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public bool TryLookup(string name, out object? value)
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value))
                return true;
        }
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _vars[name] = value;

    public Scope? Parent { get; } = parent;
}

/// <summary>
/// Walks the syntax tree and writes the output, with jinja2's scoping: a for loop's iterations and a macro call
/// each have their own scope (a <c>set</c> inside them is gone after; <c>namespace()</c> is how a value leaves a
/// loop), <c>if</c> has none. Every loop iteration, output character and string built is counted against
/// <see cref="JinjaLimits"/>.
/// </summary>
internal sealed partial class Evaluator(JinjaLimits limits, Func<DateTime> clock)
{
    private enum Flow { Normal, Break, Continue }

    private StringBuilder _out = new();
    private long _iterations;
    private long _work;
    private int _callDepth;
    private int _line;

    public JinjaLimits Limits => limits;

    public DateTime Now() => clock();

    public string Render(Stmt[] body, Scope globals)
    {
        int saved = BuildLimit.MaxChars;
        BuildLimit.MaxChars = limits.MaxOutputChars;
        try
        {
            ExecBlock(body, globals);
        }
        catch (JinjaException e)
        {
            throw e.At(_line);
        }
        finally
        {
            BuildLimit.MaxChars = saved;
        }
        return _out.ToString();
    }

    /// <summary>Counts <paramref name="chars"/> built by a string operation; fails past the limits.</summary>
    public string Built(string s)
    {
        _work += s.Length;
        if (s.Length > limits.MaxOutputChars)
            throw new JinjaException("TemplateError", $"a string of more than {limits.MaxOutputChars} characters (the output limit)");
        if (_work > limits.MaxWorkChars)
            throw new JinjaException("TemplateError", $"the template built more than {limits.MaxWorkChars} characters of strings (the work limit)");
        return s;
    }

    private void Write(string s)
    {
        if (_out.Length + (long)s.Length > limits.MaxOutputChars)
            throw new JinjaException("TemplateError", $"the output is longer than {limits.MaxOutputChars} characters (the output limit)");
        _work += s.Length;
        _out.Append(s);
    }

    /// <summary>Renders <paramref name="body"/> into a string of its own (block set, filter block, macro, caller).</summary>
    private string Capture(Stmt[] body, Scope scope)
    {
        var saved = _out;
        _out = new StringBuilder();
        try
        {
            ExecBlock(body, scope);
            return Built(_out.ToString());
        }
        finally
        {
            _out = saved;
        }
    }

    private Flow ExecBlock(Stmt[] body, Scope scope)
    {
        foreach (var s in body)
        {
            var flow = Exec(s, scope);
            if (flow != Flow.Normal)
                return flow;
        }
        return Flow.Normal;
    }

    private Flow Exec(Stmt stmt, Scope scope)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new JinjaException("TemplateError", "the template nests too deeply");
        _line = stmt.Line;
        switch (stmt)
        {
            case TextStmt t:
                Write(t.Text);
                return Flow.Normal;
            case OutputStmt o:
                Write(Python.Str(Eval(o.Value, scope)));
                return Flow.Normal;
            case IfStmt i:
                foreach (var (test, body) in i.Branches)
                {
                    if (Python.Truthy(Eval(test, scope)))
                        return ExecBlock(body, scope);
                }
                return ExecBlock(i.Else, scope);
            case ForStmt f:
                ExecFor(f, scope);
                return Flow.Normal;
            case SetStmt s:
                Assign(s.Target, Eval(s.Value, scope), scope);
                return Flow.Normal;
            case SetBlockStmt s:
            {
                object? value = Capture(s.Body, scope);
                if (s.Filter is not null)
                    value = ApplyFilter(s.Filter, value, scope);
                Assign(s.Target, value, scope);
                return Flow.Normal;
            }
            case MacroStmt m:
                scope.Set(m.Name, MakeMacro(m.Name, m.Parameters, m.Body, scope, caller: null));
                return Flow.Normal;
            case CallBlockStmt c:
            {
                var caller = MakeMacro("caller", c.Parameters, c.Body, scope, caller: null);
                Write(Python.Str(Call(c.Call, scope, caller)));
                return Flow.Normal;
            }
            case FilterBlockStmt f:
                Write(Python.Str(ApplyFilter(f.Filter, Capture(f.Body, scope), scope)));
                return Flow.Normal;
            case WithStmt w:
            {
                var inner = new Scope(scope);
                foreach (var (target, value) in w.Assignments)
                    Assign(target, Eval(value, scope), inner);
                ExecBlock(w.Body, inner);
                return Flow.Normal;
            }
            case GenerationStmt g:
                return ExecBlock(g.Body, scope);
            case BreakStmt:
                return Flow.Break;
            case ContinueStmt:
                return Flow.Continue;
            default:
                throw new InvalidOperationException($"unknown statement {stmt.GetType().Name}");
        }
    }

    private void ExecFor(ForStmt f, Scope scope)
    {
        var items = new List<object?>();
        foreach (object? item in Python.Iterate(Eval(f.Iter, scope)))
        {
            if (f.Filter is not null)
            {
                CountIteration();
                var test = new Scope(scope);
                Assign(f.Target, item, test);
                if (!Python.Truthy(Eval(f.Filter, test)))
                    continue;
            }
            items.Add(item);
        }
        if (items.Count == 0)
        {
            ExecBlock(f.Else, scope);
            return;
        }
        var loop = new LoopInfo(items);
        for (int i = 0; i < items.Count; i++)
        {
            CountIteration();
            loop.Index0 = i;
            var iteration = new Scope(scope);
            Assign(f.Target, items[i], iteration);
            iteration.Set("loop", loop);
            if (ExecBlock(f.Body, iteration) == Flow.Break)
                break;
        }
    }

    public void CountIteration()
    {
        if (++_iterations > limits.MaxLoopIterations)
            throw new JinjaException("TemplateError", $"more than {limits.MaxLoopIterations} loop iterations (the iteration limit)");
    }

    private void Assign(Expr target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameExpr n:
                scope.Set(n.Name, value);
                break;
            case AttrExpr { Target: NameExpr ns } a:
                if (!scope.TryLookup(ns.Name, out object? holder) || holder is not Namespace space)
                    throw new JinjaException("TemplateRuntimeError", "cannot assign attribute on non-namespace object");
                space.Attributes.Set(a.Name, value);
                break;
            case ListExpr names:
                var items = Python.Iterate(value).ToList();
                if (items.Count != names.Items.Length)
                    throw new JinjaException("ValueError", items.Count > names.Items.Length
                        ? $"too many values to unpack (expected {names.Items.Length})"
                        : $"not enough values to unpack (expected {names.Items.Length}, got {items.Count})");
                for (int i = 0; i < items.Count; i++)
                    Assign(names.Items[i], items[i], scope);
                break;
            default:
                throw new JinjaException("TemplateSyntaxError", "cannot assign to this expression");
        }
    }

    /// <summary>A macro (or a call block's <c>caller</c>): parameters bound by position then name, defaults evaluated at the call.</summary>
    private Callable MakeMacro(string name, Parameter[] parameters, Stmt[] body, Scope defined, Callable? caller) =>
        new(name, args =>
        {
            if (++_callDepth > limits.MaxCallDepth)
                throw new JinjaException("TemplateError", $"macros call each other more than {limits.MaxCallDepth} deep (the recursion limit)");
            int line = _line;
            try
            {
                var scope = new Scope(defined);
                var used = new HashSet<string>(StringComparer.Ordinal);
                for (int i = 0; i < parameters.Length; i++)
                {
                    var p = parameters[i];
                    object? value;
                    if (i < args.Positional.Count)
                        value = args.Positional[i];
                    else if (args.Keywords.FirstOrDefault(k => k.Name == p.Name) is { Name: not null } k)
                        value = k.Value;
                    else
                        value = p.Default is null ? Undefined.Name(p.Name) : Eval(p.Default, scope);
                    used.Add(p.Name);
                    scope.Set(p.Name, value);
                }
                var varargs = args.Positional.Skip(parameters.Length).ToList();
                var kwargs = new JinjaDict();
                foreach (var (key, value) in args.Keywords)
                {
                    if (key == "caller")
                        scope.Set("caller", value);
                    else if (!used.Contains(key))
                        kwargs.Set(key, value);
                }
                scope.Set("varargs", new JinjaList(varargs, tuple: true));
                scope.Set("kwargs", kwargs);
                if (caller is not null)
                    scope.Set("caller", caller);
                return Capture(body, scope);
            }
            finally
            {
                _callDepth--;
                _line = line;
            }
        });

    private object? Call(CallExpr call, Scope scope, Callable? caller)
    {
        object? target = Eval(call.Target, scope);
        var args = EvalArgs(call.Args, scope);
        if (caller is not null)
            args.Keywords.Add(("caller", caller));
        return target switch
        {
            Callable c => c.Invoke(args),
            Undefined u => throw u.Fail(),
            _ => throw JinjaException.Type($"'{Python.TypeName(target)}' object is not callable"),
        };
    }

    public CallArgs EvalArgs(Arguments a, Scope scope)
    {
        var positional = new List<object?>(a.Positional.Length);
        foreach (var e in a.Positional)
            positional.Add(Eval(e, scope));
        var keywords = new List<(string, object?)>(a.Keywords.Length);
        foreach (var (name, e) in a.Keywords)
            keywords.Add((name, Eval(e, scope)));
        return new CallArgs(positional, keywords);
    }

    private object? ApplyFilter(FilterExpr f, object? innermost, Scope scope)
    {
        object? value = f.Value switch
        {
            null => innermost,
            FilterExpr inner => ApplyFilter(inner, innermost, scope),
            var e => Eval(e, scope),
        };
        return Filters.Apply(this, f.Name, value, EvalArgs(f.Args, scope));
    }

    public object? Eval(Expr expr, Scope scope)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw new JinjaException("TemplateError", "the template nests too deeply");
        switch (expr)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return scope.TryLookup(n.Name, out object? v) ? v : Undefined.Name(n.Name);
            case ListExpr l:
            {
                var items = new List<object?>(l.Items.Length);
                foreach (var e in l.Items)
                    items.Add(Eval(e, scope));
                return new JinjaList(items, l.Tuple);
            }
            case DictExpr d:
            {
                var dict = new JinjaDict();
                foreach (var (k, e) in d.Items)
                {
                    object? key = Eval(k, scope);
                    if (!Python.IsHashable(key) || key is null)
                        throw JinjaException.Type($"unhashable type: '{Python.TypeName(key)}'");
                    dict.Set(key, Eval(e, scope));
                }
                return dict;
            }
            case AttrExpr a:
                return Members.GetAttr(Eval(a.Target, scope), a.Name);
            case ItemExpr { Index: SliceExpr s } i:
                return Members.Slice(Eval(i.Target, scope), Bound(s.Start, scope), Bound(s.Stop, scope), Bound(s.Step, scope));
            case ItemExpr i:
                return Members.GetItem(Eval(i.Target, scope), Eval(i.Index, scope));
            case CallExpr c:
                return Call(c, scope, caller: null);
            case FilterExpr f:
                return ApplyFilter(f, null, scope);
            case TestExpr t:
            {
                bool result = Predicates.Test(this, t.Name, Eval(t.Value, scope), EvalArgs(t.Args, scope));
                return t.Negated ? !result : result;
            }
            case UnaryExpr u:
                return Operators.Unary(u.Op, Eval(u.Operand, scope));
            case BinaryExpr { Op: "and" } b:
            {
                object? left = Eval(b.Left, scope);
                return Python.Truthy(left) ? Eval(b.Right, scope) : left;
            }
            case BinaryExpr { Op: "or" } b:
            {
                object? left = Eval(b.Left, scope);
                return Python.Truthy(left) ? left : Eval(b.Right, scope);
            }
            case BinaryExpr b:
                return Operators.Binary(this, b.Op, Eval(b.Left, scope), Eval(b.Right, scope));
            case CompareExpr c:
            {
                object? left = Eval(c.First, scope);
                foreach (var (op, e) in c.Rest)
                {
                    object? right = Eval(e, scope);
                    if (!Operators.Compare(op, left, right))
                        return false;
                    left = right;
                }
                return true;
            }
            case CondExpr c:
                if (Python.Truthy(Eval(c.Test, scope)))
                    return Eval(c.Then, scope);
                return c.Else is null
                    ? new Undefined($"the inline if-expression on line {c.Line} evaluated to false and no else section was defined.")
                    : Eval(c.Else, scope);
            case SliceExpr:
                throw new JinjaException("TemplateSyntaxError", "a slice outside of a subscript");
            default:
                throw new InvalidOperationException($"unknown expression {expr.GetType().Name}");
        }
    }

    private long? Bound(Expr? e, Scope scope) => e is null ? null : Eval(e, scope) switch
    {
        null => null,
        long or bool => Python.AsLong(Eval(e, scope)),
        var v => throw JinjaException.Type($"slice indices must be integers or None, not {Python.TypeName(v)}"),
    };
}
