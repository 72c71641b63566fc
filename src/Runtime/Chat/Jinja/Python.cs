using System.Globalization;
using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>Python's semantics for template values: truthiness, equality, ordering, <c>str()</c>, <c>repr()</c>, iteration.</summary>
internal static class Python
{
    public static readonly IEqualityComparer<object> KeyComparer = new PythonKeyComparer();

    public static bool IsHashable(object? v) => v is null or bool or long or double or string || v is JinjaList { IsTuple: true };

    /// <summary>Python's type name, as its error messages spell it.</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        Markup => "Markup",
        JinjaList { IsTuple: true } => "tuple",
        JinjaList => "list",
        JinjaDict => "dict",
        Namespace => "Namespace",
        Generator => "generator",
        Undefined => "Undefined",
        Callable => "function",
        LoopInfo => "LoopContext",
        _ => v.GetType().Name,
    };

    public static bool Truthy(object? v) => v switch
    {
        Markup m => m.Text.Length > 0,
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        JinjaList l => l.Count > 0,
        JinjaDict d => d.Count > 0,
        Undefined => false,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is bool or long or double;

    public static double ToDouble(object? v) => v switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        double d => d,
        _ => throw JinjaException.Type($"expected a number, got {TypeName(v)}"),
    };

    public static new bool Equals(object? a, object? b)
    {
        a = Markup.Unwrap(a);
        b = Markup.Unwrap(b);
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
                return ToDouble(a) == ToDouble(b);
            return AsLong(a) == AsLong(b);
        }
        return (a, b) switch
        {
            (null, null) => true,
            (string x, string y) => x == y,
            (JinjaList x, JinjaList y) => x.IsTuple == y.IsTuple && x.Count == y.Count && x.Items.Zip(y.Items).All(p => Equals(p.First, p.Second)),
            (JinjaDict x, JinjaDict y) => x.Count == y.Count && x.Pairs().All(p => y.TryGet(p.Key, out var o) && Equals(p.Value, o)),
            (Undefined, Undefined) => true,
            _ => ReferenceEquals(a, b),
        };
    }

    public static long AsLong(object? v) => v switch
    {
        bool b => b ? 1 : 0,
        long l => l,
        _ => throw JinjaException.Type($"expected an integer, got {TypeName(v)}"),
    };

    /// <summary>Python's ordering (<c>&lt;</c> and friends): numbers, strings, lists and tuples element by element.</summary>
    public static int Compare(object? a, object? b, string op = "<")
    {
        a = Markup.Unwrap(a);
        b = Markup.Unwrap(b);
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double)
            {
                double x = ToDouble(a), y = ToDouble(b);
                return x < y ? -1 : x > y ? 1 : 0;
            }
            return AsLong(a).CompareTo(AsLong(b));
        }
        switch (a, b)
        {
            case (string x, string y):
                return Math.Sign(string.CompareOrdinal(x, y));
            case (JinjaList x, JinjaList y) when x.IsTuple == y.IsTuple:
                for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
                {
                    if (!Equals(x.Items[i], y.Items[i]))
                        return Compare(x.Items[i], y.Items[i], op);
                }
                return x.Count.CompareTo(y.Count);
        }
        if (a is Undefined u)
            throw u.Fail();
        if (b is Undefined v)
            throw v.Fail();
        throw JinjaException.Type($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>Python's <c>str(v)</c>, which <c>{{ v }}</c> prints.</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        Markup m => m.Text,
        Undefined => "",
        _ => Repr(v),
    };

    /// <summary>Python's <c>repr(v)</c> (how a list shows its items).</summary>
    public static string Repr(object? v)
    {
        var b = new StringBuilder();
        Repr(b, v, 0);
        return b.ToString();
    }

    private static void Repr(StringBuilder b, object? v, int depth)
    {
        if (depth > 100)
            throw new JinjaException("RecursionError", "maximum recursion depth exceeded while getting the repr of an object");
        switch (v)
        {
            case null: b.Append("None"); break;
            case bool x: b.Append(x ? "True" : "False"); break;
            case long x: b.Append(x.ToString(CultureInfo.InvariantCulture)); break;
            case double x: b.Append(FloatRepr(x)); break;
            case string s: StringRepr(b, s); break;
            case Markup m:
                b.Append("Markup(");
                StringRepr(b, m.Text);
                b.Append(')');
                break;
            case JinjaList l:
                b.Append(l.IsTuple ? '(' : '[');
                for (int i = 0; i < l.Count; i++)
                {
                    if (i > 0)
                        b.Append(", ");
                    BuildLimit.Check(b.Length);
                    Repr(b, l.Items[i], depth + 1);
                }
                if (l.IsTuple && l.Count == 1)
                    b.Append(',');
                b.Append(l.IsTuple ? ')' : ']');
                break;
            case JinjaDict d:
                b.Append('{');
                bool first = true;
                foreach (var (k, x) in d.Pairs())
                {
                    if (!first)
                        b.Append(", ");
                    first = false;
                    BuildLimit.Check(b.Length);
                    Repr(b, k, depth + 1);
                    b.Append(": ");
                    Repr(b, x, depth + 1);
                }
                b.Append('}');
                break;
            case Namespace n:
                b.Append("<Namespace ");
                Repr(b, n.Attributes, depth + 1);
                b.Append('>');
                break;
            case Undefined: b.Append("Undefined"); break;
            case Generator: b.Append("<generator object>"); break;
            case Callable c: b.Append("<function ").Append(c.Name).Append('>'); break;
            default: b.Append('<').Append(TypeName(v)).Append(" object>"); break;
        }
    }

    private static void StringRepr(StringBuilder b, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        b.Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                default:
                    if (c == quote)
                        b.Append('\\').Append(c);
                    else if (c < ' ' || c == '\x7f')
                        b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    else if (c is >= '\x80' and <= '\xa0' or '\xad')
                        b.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    else
                        b.Append(c);
                    break;
            }
        }
        b.Append(quote);
    }

    /// <summary>
    /// Python's <c>repr(float)</c>: the shortest digits that round-trip, positional when the exponent is in [-4, 16),
    /// else scientific with a signed two-digit exponent (<c>1e+16</c>, <c>1e-05</c>).
    /// </summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d))
            return "nan";
        if (double.IsInfinity(d))
            return d > 0 ? "inf" : "-inf";
        if (d == 0)
            return double.IsNegative(d) ? "-0.0" : "0.0";
        // "R" gives the shortest digits that round-trip, as Python's repr; only the layout differs.
        string shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int e = shortest.IndexOfAny(['E', 'e']);
        string mantissa = e < 0 ? shortest : shortest[..e];
        int exponent = e < 0 ? 0 : int.Parse(shortest[(e + 1)..], CultureInfo.InvariantCulture);
        int point = mantissa.IndexOf('.');
        string digits = mantissa.Replace(".", "", StringComparison.Ordinal);
        int decimalPoint = (point < 0 ? mantissa.Length : point) + exponent;
        int leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        decimalPoint -= leadingZeros;
        string sign = d < 0 ? "-" : "";
        int sciExponent = decimalPoint - 1;
        if (sciExponent >= -4 && sciExponent < 16)
        {
            if (decimalPoint <= 0)
                return sign + "0." + new string('0', -decimalPoint) + digits;
            if (decimalPoint >= digits.Length)
                return sign + digits + new string('0', decimalPoint - digits.Length) + ".0";
            return sign + digits[..decimalPoint] + "." + digits[decimalPoint..];
        }
        string fraction = digits.Length > 1 ? "." + digits[1..] : "";
        return sign + digits[0] + fraction + "e" + (sciExponent < 0 ? "-" : "+") + Math.Abs(sciExponent).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>Python's <c>iter(v)</c> as a template sees it; a dict iterates its keys, an Undefined nothing.</summary>
    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        JinjaList l => l.Items,
        JinjaDict d => d.Keys,
        string s => Strings.CodePoints(s),
        Markup m => Strings.CodePoints(m.Text),
        Generator g => g.Take(),
        Undefined => [],
        Namespace => throw JinjaException.Type("'Namespace' object is not iterable"),
        _ => throw JinjaException.Type($"'{TypeName(v)}' object is not iterable"),
    };

    /// <summary>Python's <c>len(v)</c>.</summary>
    public static int Length(object? v) => v switch
    {
        string s => Strings.Length(s),
        Markup m => Strings.Length(m.Text),
        JinjaList l => l.Count,
        JinjaDict d => d.Count,
        Undefined => 0,
        _ => throw JinjaException.Type($"object of type '{TypeName(v)}' has no len()"),
    };

    /// <summary>The indexes <c>seq[start:stop:step]</c> takes from a sequence of <paramref name="count"/> items.</summary>
    public static IEnumerable<int> SliceIndexes(int count, long? start, long? stop, long? step)
    {
        long s = step ?? 1;
        if (s == 0)
            throw new JinjaException("ValueError", "slice step cannot be zero");
        long Clamp(long? v, long fallback, long low, long high)
        {
            if (v is not long x)
                return fallback;
            if (x < 0)
                x += count;
            return Math.Clamp(x, low, high);
        }
        if (s > 0)
        {
            long from = Clamp(start, 0, 0, count), to = Clamp(stop, count, 0, count);
            for (long i = from; i < to; i += s)
                yield return (int)i;
        }
        else
        {
            long from = Clamp(start, count - 1, -1, count - 1), to = Clamp(stop, -1, -1, count - 1);
            for (long i = from; i > to; i += s)
                yield return (int)i;
        }
    }

    private sealed class PythonKeyComparer : IEqualityComparer<object>
    {
        public new bool Equals(object? x, object? y) => Python.Equals(x, y);

        public int GetHashCode(object o) => o switch
        {
            bool b => b ? 1 : 0,
            long l => l.GetHashCode(),
            double d => d == Math.Floor(d) && d >= long.MinValue && d <= long.MaxValue ? ((long)d).GetHashCode() : d.GetHashCode(),
            string s => s.GetHashCode(StringComparison.Ordinal),
            JinjaList l => l.Items.Aggregate(17, (h, i) => h * 31 + (i is null ? 0 : GetHashCode(i))),
            _ => 0,
        };
    }
}
