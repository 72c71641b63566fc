using System.Globalization;
using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>
/// The functions a template can call: jinja2's <c>range</c>, <c>namespace</c>, <c>dict</c>, and transformers'
/// <c>raise_exception</c> and <c>strftime_now</c> (on the rendering's clock).
/// </summary>
internal static class Globals
{
    public static void AddTo(Scope scope, Evaluator ev)
    {
        scope.Set("range", new Callable("range", a => Range(ev, a)));
        scope.Set("namespace", new Callable("namespace", Namespace));
        scope.Set("dict", new Callable("dict", a =>
        {
            var d = new JinjaDict();
            if (a.Positional.Count > 0)
            {
                foreach (object? pair in Python.Iterate(a.Positional[0] is JinjaDict source ? new JinjaList([.. source.Pairs().Select(p => (object?)JinjaList.Tuple(p.Key, p.Value))]) : a.Positional[0]))
                {
                    var kv = Python.Iterate(pair).ToList();
                    if (kv.Count != 2 || !Python.IsHashable(kv[0]) || kv[0] is null)
                        throw new JinjaException("ValueError", "dictionary update sequence element has the wrong length or type");
                    d.Set(kv[0]!, kv[1]);
                }
            }
            foreach (var (k, v) in a.Keywords)
                d.Set(k, v);
            return d;
        }));
        scope.Set("raise_exception", new Callable("raise_exception", a => throw new JinjaException("TemplateError", Python.Str(a.Get(0, "message")))));
        scope.Set("strftime_now", new Callable("strftime_now", a => StrFTime(ev.Now(), Python.Str(a.Get(0, "format")))));
    }

    private static Namespace Namespace(CallArgs a)
    {
        var ns = new Namespace();
        foreach (object? initial in a.Positional)
        {
            if (initial is not JinjaDict d)
                throw JinjaException.Type($"namespace() takes a dict, not {Python.TypeName(initial)}");
            foreach (var (k, v) in d.Pairs())
                ns.Attributes.Set(k, v);
        }
        foreach (var (k, v) in a.Keywords)
            ns.Attributes.Set(k, v);
        return ns;
    }

    /// <summary>Python's range, as a list; a range longer than the loop bound is refused before it is made.</summary>
    private static JinjaList Range(Evaluator ev, CallArgs a)
    {
        var n = a.Positional.Select(Python.AsLong).ToList();
        (long start, long stop, long step) = n.Count switch
        {
            1 => (0L, n[0], 1L),
            2 => (n[0], n[1], 1L),
            3 => (n[0], n[1], n[2]),
            _ => throw JinjaException.Type($"range expected 1 to 3 arguments, got {n.Count}"),
        };
        if (step == 0)
            throw new JinjaException("ValueError", "range() arg 3 must not be zero");
        double count = Math.Max(0, Math.Ceiling(((double)stop - start) / step));
        if (count > ev.Limits.MaxLoopIterations)
            throw new JinjaException("TemplateError", $"a range of more than {ev.Limits.MaxLoopIterations} items (the iteration limit)");
        var items = new List<object?>((int)count);
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
            items.Add(i);
        return new JinjaList(items);
    }

    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>C's strftime in the C locale, as Python's <c>datetime.strftime</c> on Linux (glibc's <c>%-d</c> too).</summary>
    public static string StrFTime(DateTime t, string format)
    {
        var b = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                b.Append(format[i]);
                continue;
            }
            char c = format[++i];
            bool noPad = c == '-' && i + 1 < format.Length;
            if (noPad)
                c = format[++i];
            string Two(int v) => v.ToString(noPad ? "0" : "00", CultureInfo.InvariantCulture);
            int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
            b.Append(c switch
            {
                'Y' => t.Year.ToString(CultureInfo.InvariantCulture),
                'y' => Two(t.Year % 100),
                'm' => Two(t.Month),
                'd' => Two(t.Day),
                'e' => t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(noPad ? 1 : 2),
                'H' => Two(t.Hour),
                'I' => Two(hour12),
                'M' => Two(t.Minute),
                'S' => Two(t.Second),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'B' => Months[t.Month - 1],
                'b' or 'h' => Months[t.Month - 1][..3],
                'A' => Days[(int)t.DayOfWeek],
                'a' => Days[(int)t.DayOfWeek][..3],
                'j' => t.DayOfYear.ToString(noPad ? "0" : "000", CultureInfo.InvariantCulture),
                'w' => ((int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
                'F' => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                'T' => t.ToString("HH:mm:ss", CultureInfo.InvariantCulture),
                'D' => t.ToString("MM/dd/yy", CultureInfo.InvariantCulture),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", CultureInfo.InvariantCulture),
                'Z' => "",
                'z' => "",
                'n' => "\n",
                't' => "\t",
                '%' => "%",
                _ => "%" + (noPad ? "-" : "") + c,
            });
        }
        return b.ToString();
    }
}
