namespace LlamaAot.Chat.Jinja;

/// <summary>jinja2's tests (<c>x is defined</c>, <c>x is string</c>, ...: jinja2/tests.py) with Python's type rules.</summary>
internal static class Predicates
{
    public static bool Test(Evaluator ev, string name, object? v, CallArgs a)
    {
        v = Markup.Unwrap(v);
        object? Arg() => a.Positional.Count > 0 ? a.Positional[0] : a.Keywords.Count > 0 ? a.Keywords[0].Value
            : throw JinjaException.Type($"the test '{name}' needs an argument");
        switch (name)
        {
            case "defined": return v is not Undefined;
            case "undefined": return v is Undefined;
            case "none": return v is null;
            case "boolean": return v is bool;
            case "true": return v is true;
            case "false": return v is false;
            case "integer": return v is long;
            case "float": return v is double;
            case "number": return v is long or double or bool;
            case "string": return v is string;
            case "mapping": return v is JinjaDict;
            case "iterable": return v is string or JinjaList or JinjaDict or Generator or Undefined;
            case "sequence": return v is string or JinjaList or JinjaDict or Undefined;
            case "callable": return v is Callable;
            case "escaped": return false;
            case "odd": return Python.AsLong(v) % 2 != 0;
            case "even": return Python.AsLong(v) % 2 == 0;
            case "divisibleby":
            {
                long d = Python.AsLong(Arg());
                return d == 0 ? throw new JinjaException("ZeroDivisionError", "integer division or modulo by zero") : Python.AsLong(v) % d == 0;
            }
            case "sameas": return v is null or bool ? Python.Equals(v, Arg()) && v?.GetType() == Arg()?.GetType() : ReferenceEquals(v, Arg()) || (v is long && Python.Equals(v, Arg()));
            case "eq" or "equalto" or "==": return Python.Equals(v, Arg());
            case "ne" or "!=": return !Python.Equals(v, Arg());
            case "lt" or "lessthan" or "<": return Python.Compare(v, Arg(), "<") < 0;
            case "le" or "<=": return Python.Compare(v, Arg(), "<=") <= 0;
            case "gt" or "greaterthan" or ">": return Python.Compare(v, Arg(), ">") > 0;
            case "ge" or ">=": return Python.Compare(v, Arg(), ">=") >= 0;
            case "in": return Operators.Contains(Arg(), v);
            case "lower": return v is string s && s == s.ToLowerInvariant();
            case "upper": return v is string t && t == t.ToUpperInvariant();
            case "filter": return Arg() is string f && IsFilter(ev, f);
            case "test": return Arg() is string;
            default: throw new JinjaException("TemplateAssertionError", $"No test named '{name}'.");
        }
    }

    private static bool IsFilter(Evaluator ev, string name)
    {
        try
        {
            Filters.Apply(ev, name, "", CallArgs.Empty);
            return true;
        }
        catch (JinjaException e) when (e.Kind == "TemplateAssertionError")
        {
            return false;
        }
        catch (JinjaException)
        {
            return true;
        }
    }
}
