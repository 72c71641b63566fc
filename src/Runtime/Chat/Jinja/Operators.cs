using System.Globalization;
using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>Python's arithmetic, concatenation, comparison and membership operators on template values.</summary>
internal static class Operators
{
    public static object? Unary(string op, object? v)
    {
        if (op == "not")
            return !Python.Truthy(v);
        if (v is Undefined u)
            throw u.Fail();
        return (op, v) switch
        {
            ("-", long l) => (object)checked(-l),
            ("-", bool b) => b ? -1L : 0L,
            ("-", double d) => -d,
            ("+", long or double) => v,
            ("+", bool b) => b ? 1L : 0L,
            _ => throw JinjaException.Type($"bad operand type for unary {op}: '{Python.TypeName(v)}'"),
        };
    }

    public static object? Binary(Evaluator ev, string op, object? a, object? b)
    {
        if (op == "~")
            return ev.Built(Python.Str(a) + Python.Str(b));
        if (op == "+" && (a is Markup || b is Markup) && Markup.Unwrap(a) is string && Markup.Unwrap(b) is string)
            return new Markup(ev.Built(Markup.Escape(a) + Markup.Escape(b)));
        a = Markup.Unwrap(a);
        b = Markup.Unwrap(b);
        if (a is Undefined ua)
            throw ua.Fail();
        if (b is Undefined ub)
            throw ub.Fail();
        try
        {
            return op switch
            {
                "+" => Add(ev, a, b),
                "-" => Arithmetic(op, a, b, (x, y) => checked(x - y), (x, y) => x - y),
                "*" => Multiply(ev, a, b),
                "/" when Python.IsNumber(a) && Python.IsNumber(b) => Python.ToDouble(b) == 0
                    ? throw new JinjaException("ZeroDivisionError", "division by zero")
                    : Python.ToDouble(a) / Python.ToDouble(b),
                "//" => Arithmetic(op, a, b, FloorDivide, (x, y) => y == 0 ? throw ZeroDivision() : Math.Floor(x / y)),
                "%" when a is string format => ev.Built(PercentFormat(format, b)),
                "%" => Arithmetic(op, a, b, Modulo, (x, y) => y == 0 ? throw ZeroDivision() : x - Math.Floor(x / y) * y),
                "**" => Power(a, b),
                _ => throw Unsupported(op, a, b),
            };
        }
        catch (OverflowException)
        {
            throw new JinjaException("OverflowError", $"integer result of '{op}' too large");
        }
    }

    private static JinjaException ZeroDivision() => new("ZeroDivisionError", "integer division or modulo by zero");

    private static JinjaException Unsupported(string op, object? a, object? b) =>
        JinjaException.Type($"unsupported operand type(s) for {op}: '{Python.TypeName(a)}' and '{Python.TypeName(b)}'");

    private static long FloorDivide(long x, long y)
    {
        if (y == 0)
            throw ZeroDivision();
        long q = x / y;
        return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
    }

    private static long Modulo(long x, long y)
    {
        if (y == 0)
            throw ZeroDivision();
        long r = x % y;
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
    }

    private static object Arithmetic(string op, object? a, object? b, Func<long, long, long> integer, Func<double, double, double> real)
    {
        if (!Python.IsNumber(a) || !Python.IsNumber(b))
            throw Unsupported(op, a, b);
        if (a is double || b is double)
            return real(Python.ToDouble(a), Python.ToDouble(b));
        return integer(Python.AsLong(a), Python.AsLong(b));
    }

    private static object? Add(Evaluator ev, object? a, object? b)
    {
        switch (a, b)
        {
            case (string x, string y):
                return ev.Built(x + y);
            case (string, _):
                throw JinjaException.Type($"can only concatenate str (not \"{Python.TypeName(b)}\") to str");
            case (JinjaList x, JinjaList y) when x.IsTuple == y.IsTuple:
                CheckSize(ev, (long)x.Count + y.Count);
                return new JinjaList([.. x.Items, .. y.Items], x.IsTuple);
            case (JinjaList x, _):
                throw JinjaException.Type($"can only concatenate {Python.TypeName(x)} (not \"{Python.TypeName(b)}\") to {Python.TypeName(x)}");
        }
        return Arithmetic("+", a, b, (x, y) => checked(x + y), (x, y) => x + y);
    }

    private static object? Multiply(Evaluator ev, object? a, object? b)
    {
        switch (a, b)
        {
            case (string s, long or bool):
                return Repeat(ev, s, Python.AsLong(b));
            case (long or bool, string s):
                return Repeat(ev, s, Python.AsLong(a));
            case (JinjaList l, long or bool):
            {
                long n = Math.Max(0, Python.AsLong(b));
                CheckSize(ev, l.Count * n);
                return new JinjaList([.. Enumerable.Repeat(l.Items, (int)n).SelectMany(x => x)], l.IsTuple);
            }
        }
        return Arithmetic("*", a, b, (x, y) => checked(x * y), (x, y) => x * y);
    }

    private static void CheckSize(Evaluator ev, long count)
    {
        if (count > ev.Limits.MaxOutputChars)
            throw new JinjaException("TemplateError", $"a list of more than {ev.Limits.MaxOutputChars} items (the output limit)");
    }

    private static string Repeat(Evaluator ev, string s, long n)
    {
        if (n <= 0 || s.Length == 0)
            return "";
        if (s.Length * n > ev.Limits.MaxOutputChars)
            throw new JinjaException("TemplateError", $"a string of more than {ev.Limits.MaxOutputChars} characters (the output limit)");
        return ev.Built(new StringBuilder(s.Length * (int)n).Insert(0, s, (int)n).ToString());
    }

    private static object Power(object? a, object? b)
    {
        if (!Python.IsNumber(a) || !Python.IsNumber(b))
            throw Unsupported("** or pow()", a, b);
        if (a is double || b is double || Python.AsLong(b) < 0)
            return Math.Pow(Python.ToDouble(a), Python.ToDouble(b));
        long x = Python.AsLong(a), e = Python.AsLong(b), result = 1;
        while (e > 0)
        {
            if ((e & 1) != 0)
                result = checked(result * x);
            e >>= 1;
            if (e > 0)
                x = checked(x * x);
        }
        return result;
    }

    public static bool Compare(string op, object? a, object? b) => op switch
    {
        "==" => Python.Equals(a, b),
        "!=" => !Python.Equals(a, b),
        "<" => Python.Compare(a, b, op) < 0,
        "<=" => Python.Compare(a, b, op) <= 0,
        ">" => Python.Compare(a, b, op) > 0,
        ">=" => Python.Compare(a, b, op) >= 0,
        "in" => Contains(b, a),
        "notin" => !Contains(b, a),
        _ => throw new InvalidOperationException(op),
    };

    /// <summary>Python's <c>item in container</c>.</summary>
    public static bool Contains(object? container, object? item) => Markup.Unwrap(container) switch
    {
        string s when Markup.Unwrap(item) is string sub => s.Contains(sub, StringComparison.Ordinal),
        string => throw JinjaException.Type($"'in <string>' requires string as left operand, not {Python.TypeName(item)}"),
        JinjaList l => l.Items.Any(x => Python.Equals(x, item)),
        JinjaDict d => d.ContainsKey(item),
        Namespace => throw JinjaException.Type("argument of type 'Namespace' is not iterable"),
        Undefined or Generator => Python.Iterate(container).Any(x => Python.Equals(x, item)),
        _ => throw JinjaException.Type($"argument of type '{Python.TypeName(container)}' is not iterable"),
    };

    /// <summary>Python's <c>format % args</c>: %s %r %d %i %f %x %% with flags, width and precision.</summary>
    public static string PercentFormat(string format, object? args)
    {
        var values = args is JinjaList { IsTuple: true } t ? t.Items : [args];
        var b = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%')
            {
                b.Append(format[i]);
                continue;
            }
            int start = ++i;
            while (i < format.Length && "-+ 0#.0123456789".Contains(format[i]))
                i++;
            if (i >= format.Length)
                throw new JinjaException("ValueError", "incomplete format");
            char conversion = format[i];
            if (conversion == '%')
            {
                b.Append('%');
                continue;
            }
            if (next >= values.Count)
                throw JinjaException.Type("not enough arguments for format string");
            string spec = format[start..i];
            object? v = values[next++];
            BuildLimit.Check(b.Length);
            b.Append(conversion switch
            {
                's' => Pad(Python.Str(v), spec),
                'r' => Pad(Python.Repr(v), spec),
                'd' or 'i' => Pad(Python.IsNumber(v) ? ((long)Math.Truncate(Python.ToDouble(v))).ToString(CultureInfo.InvariantCulture)
                    : throw JinjaException.Type($"%{conversion} format: a real number is required, not {Python.TypeName(v)}"), spec),
                'f' or 'F' => Pad(Python.ToDouble(v).ToString("F" + Precision(spec, 6), CultureInfo.InvariantCulture), spec),
                'x' => Pad(Python.AsLong(v).ToString("x", CultureInfo.InvariantCulture), spec),
                _ => throw new JinjaException("ValueError", $"unsupported format character '{conversion}'"),
            });
        }
        if (next < values.Count && args is JinjaList { IsTuple: true })
            throw JinjaException.Type("not all arguments converted during string formatting");
        return b.ToString();
    }

    private static int Precision(string spec, int fallback)
    {
        int dot = spec.IndexOf('.');
        return dot >= 0 && int.TryParse(spec[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? Math.Min(p, 100) : fallback;
    }

    private static string Pad(string s, string spec)
    {
        string widthText = new([.. spec.TakeWhile(c => c != '.').Where(char.IsAsciiDigit)]);
        widthText = widthText.TrimStart('0');
        if (!int.TryParse(widthText, NumberStyles.None, CultureInfo.InvariantCulture, out int width))
            return s;
        width = Math.Min(width, 10_000);
        return spec.Contains('-') ? s.PadRight(width) : s.PadLeft(width, spec.StartsWith('0') ? '0' : ' ');
    }
}
