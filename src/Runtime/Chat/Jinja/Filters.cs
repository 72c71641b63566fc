using System.Globalization;
using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>
/// jinja2's built-in filters (jinja2/filters.py, 3.1) that chat templates use, plus transformers' <c>tojson</c>.
/// An unknown filter fails when it is reached (jinja2 fails at compile time unless the filter sits in a branch).
/// </summary>
internal static class Filters
{
    public static object? Apply(Evaluator ev, string name, object? v, CallArgs a)
    {
        if (name == "safe")
            return v as Markup ?? new Markup(Python.Str(v));
        v = Markup.Unwrap(v);
        switch (name)
        {
            case "escape" or "e" or "forceescape":
                return new Markup(ev.Built(Markup.Escape(v)));
            case "string":
                return Python.Str(v);
            case "tojson":
                return ev.Built(ToJson(v, a));
            case "length" or "count":
                return (long)Python.Length(v);
            case "trim":
                return Strings.Strip(Python.Str(v), a.Get(0, "chars") as string, true, true);
            case "upper":
                return Python.Str(v).ToUpperInvariant();
            case "lower":
                return Python.Str(v).ToLowerInvariant();
            case "title":
                return TitleWords(Python.Str(v));
            case "capitalize":
                return Strings.Capitalize(Python.Str(v));
            case "replace":
            {
                long count = a.Get(2, "count") is long c ? c : -1;
                return ev.Built(Members.Replace(Python.Str(v), Python.Str(a.Get(0, "old")), Python.Str(a.Get(1, "new")), count));
            }
            case "default" or "d":
            {
                bool boolean = Python.Truthy(a.Get(1, "boolean", false));
                return v is Undefined || (boolean && !Python.Truthy(v)) ? a.Get(0, "default_value", "") : v;
            }
            case "join":
                return ev.Built(Join(v, a));
            case "list":
                return new JinjaList([.. Python.Iterate(v)]);
            case "first":
                return Python.Iterate(v).Take(1).ToList() is [var first] ? first : new Undefined("No first item, sequence was empty.");
            case "last":
                return v is JinjaList { Count: > 0 } l ? l.Items[^1]
                    : Python.Iterate(v).ToList() is { Count: > 0 } all ? all[^1] : new Undefined("No last item, sequence was empty.");
            case "items":
                return v is Undefined ? new Generator([]) : v is JinjaDict d
                    ? new Generator([.. d.Pairs().Select(p => (object?)JinjaList.Tuple(p.Key, p.Value))])
                    : throw JinjaException.Type($"Can only get item pairs from a mapping, not {Python.TypeName(v)}");
            case "dictsort":
                return DictSort(v, a);
            case "indent":
                return ev.Built(Indent(Python.Str(v), a));
            case "map":
                return new Generator(Map(ev, v, a));
            case "select" or "reject":
                return new Generator(Select(ev, v, a, attribute: false, keep: name == "select"));
            case "selectattr" or "rejectattr":
                return new Generator(Select(ev, v, a, attribute: true, keep: name == "selectattr"));
            case "unique":
                return Unique(v, a);
            case "reverse":
                return v is string s ? Strings.Slice(s, null, null, -1) : new Generator(Enumerable.Reverse(Python.Iterate(v).ToList()));
            case "sort":
                return Sort(v, a);
            case "min" or "max":
                return MinMax(v, a, name == "max");
            case "sum":
            {
                object? total = a.Get(1, "start", 0L);
                var attribute = a.Get(0, "attribute") as string;
                foreach (object? item in Python.Iterate(v))
                    total = Operators.Binary(ev, "+", total, attribute is null ? item : Attribute(item, attribute));
                return total;
            }
            case "int":
                return ToInt(v, a.Get(0, "default", 0L));
            case "float":
                return ToFloat(v, a.Get(0, "default", 0.0));
            case "abs":
                return v switch
                {
                    long whole => (object)checked(Math.Abs(whole)),
                    bool b => b ? 1L : 0L,
                    double real => Math.Abs(real),
                    _ => throw JinjaException.Type($"bad operand type for abs(): '{Python.TypeName(v)}'"),
                };
            case "round":
            {
                double x = Python.ToDouble(v);
                int precision = (int)Math.Clamp(Python.AsLong(a.Get(0, "precision", 0L)), 0, 15);
                string method = a.Get(1, "method", "common") as string ?? "common";
                double scale = Math.Pow(10, precision);
                return method switch
                {
                    "ceil" => Math.Ceiling(x * scale) / scale,
                    "floor" => Math.Floor(x * scale) / scale,
                    // Python's round(): halves to even.
                    _ => Math.Round(x, precision, MidpointRounding.ToEven),
                };
            }
            case "attr":
                return Members.GetAttr(v, Python.Str(a.Get(0, "name")));
            case "center":
            {
                string text = Python.Str(v);
                int width = (int)Math.Min(Python.AsLong(a.Get(0, "width", 80L)), 1 << 20);
                if (text.Length >= width)
                    return text;
                int total = width - text.Length, left = total / 2 + (total & width & 1);
                return new string(' ', left) + text + new string(' ', total - left);
            }
            case "format":
                return ev.Built(Operators.PercentFormat(Python.Str(v), a.Keywords.Count > 0
                    ? throw JinjaException.Type("format with keyword arguments is not supported")
                    : JinjaList.Tuple([.. a.Positional])));
            case "wordcount":
                return (long)WordCount(Python.Str(v));
            case "batch":
                return Batch(v, a);
            default:
                throw new JinjaException("TemplateAssertionError", $"No filter named '{name}'.");
        }
    }

    /// <summary>transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).</summary>
    private static string ToJson(object? v, CallArgs a)
    {
        string? indent = a.Get(1, "indent") switch
        {
            null => null,
            long n => new string(' ', (int)Math.Clamp(n, 0, 100)),
            string s => s,
            var x => throw JinjaException.Type($"indent must be an int or a str, not {Python.TypeName(x)}"),
        };
        string itemSep = indent is null ? ", " : ",", keySep = ": ";
        if (a.Get(2, "separators") is JinjaList { Count: 2 } separators)
        {
            itemSep = separators.Items[0] as string ?? throw JinjaException.Type("separators must be strings");
            keySep = separators.Items[1] as string ?? throw JinjaException.Type("separators must be strings");
        }
        return Json.Dumps(v, indent, itemSep, keySep, Python.Truthy(a.Get(3, "sort_keys", false)));
    }

    private static string Join(object? v, CallArgs a)
    {
        string separator = Python.Str(a.Get(0, "d", ""));
        var attribute = a.Get(1, "attribute") as string;
        return Strings.Join(separator, Python.Iterate(v).Select(x => Python.Str(attribute is null ? x : Attribute(x, attribute))));
    }

    /// <summary>jinja2's title filter: each word (after whitespace, '-', or an opening bracket) capitalized; unlike str.title(), "o'neil" stays one word.</summary>
    private static string TitleWords(string s)
    {
        var b = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s)
        {
            bool separator = Strings.IsWhitespace(c) || c is '-' or '(' or '{' or '[' or '<';
            b.Append(separator ? c : start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = separator;
        }
        return b.ToString();
    }

    /// <summary>jinja2's wordcount: the matches of <c>\w+</c>.</summary>
    private static int WordCount(string s)
    {
        int count = 0;
        bool inWord = false;
        foreach (char c in s)
        {
            bool word = char.IsLetterOrDigit(c) || c == '_';
            if (word && !inWord)
                count++;
            inWord = word;
        }
        return count;
    }

    /// <summary>jinja2's make_attrgetter: a dotted path, integer parts as indexes.</summary>
    public static object? Attribute(object? item, string path)
    {
        foreach (string part in path.Split('.'))
        {
            item = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long i)
                ? Members.GetItem(item, i)
                : Members.GetItem(item, part);
        }
        return item;
    }

    private static JinjaList DictSort(object? v, CallArgs a)
    {
        if (v is not JinjaDict d)
            throw JinjaException.Type("You can only sort by either \"key\" or \"value\" of a dict");
        bool caseSensitive = Python.Truthy(a.Get(0, "case_sensitive", false));
        bool byValue = Python.Str(a.Get(1, "by", "key")) == "value";
        bool reverse = Python.Truthy(a.Get(2, "reverse", false));
        var pairs = d.Pairs().ToList();
        var sorted = pairs.Order(Comparer<KeyValuePair<object, object?>>.Create((x, y) =>
            Python.Compare(Fold(byValue ? x.Value : x.Key, caseSensitive), Fold(byValue ? y.Value : y.Key, caseSensitive))));
        var list = reverse ? sorted.Reverse() : sorted;
        return new JinjaList([.. list.Select(p => (object?)JinjaList.Tuple(p.Key, p.Value))]);
    }

    private static object? Fold(object? v, bool caseSensitive) => !caseSensitive && v is string s ? s.ToLowerInvariant() : v;

    /// <summary>jinja2's indent(width=4, first=False, blank=False).</summary>
    private static string Indent(string s, CallArgs a)
    {
        string indention = a.Get(0, "width", 4L) switch
        {
            string w => w,
            var w => new string(' ', (int)Math.Clamp(Python.AsLong(w), 0, 1000)),
        };
        bool first = Python.Truthy(a.Get(1, "first", false)), blank = Python.Truthy(a.Get(2, "blank", false));
        var lines = Strings.SplitLines(s + "\n");
        BuildLimit.Check(s.Length + (long)lines.Count * indention.Length);
        string rv;
        if (blank)
            rv = string.Join("\n" + indention, lines);
        else
        {
            var b = new StringBuilder(lines[0]);
            for (int i = 1; i < lines.Count; i++)
                b.Append('\n').Append(lines[i].Length > 0 ? indention + lines[i] : lines[i]);
            rv = b.ToString();
        }
        return first ? indention + rv : rv;
    }

    /// <summary>jinja2's map: lazy, as its generator (an error shows when the result is used), and empty for a false value.</summary>
    private static IEnumerable<object?> Map(Evaluator ev, object? v, CallArgs a)
    {
        if (!Python.Truthy(v))
            yield break;
        Func<object?, object?> map;
        if (a.Has(-1, "attribute"))
        {
            string attribute = Python.Str(a.Get(-1, "attribute"));
            bool hasDefault = a.Has(-1, "default");
            object? fallback = a.Get(-1, "default");
            map = x => Attribute(x, attribute) is Undefined && hasDefault ? fallback : Attribute(x, attribute);
        }
        else if (a.Positional.Count == 0)
            map = x => x;
        else
        {
            string filter = Python.Str(a.Positional[0]);
            var rest = new CallArgs([.. a.Positional.Skip(1)], a.Keywords);
            map = x => Apply(ev, filter, x, rest);
        }
        foreach (object? item in Python.Iterate(v))
            yield return map(item);
    }

    /// <summary>jinja2's select_or_reject: lazy, and empty for a false value.</summary>
    private static IEnumerable<object?> Select(Evaluator ev, object? v, CallArgs a, bool attribute, bool keep)
    {
        if (!Python.Truthy(v))
            yield break;
        int first = attribute ? 1 : 0;
        string? attributeName = attribute ? Python.Str(a.Get(0, "attribute")) : null;
        string? test = a.Positional.Count > first ? Python.Str(a.Positional[first]) : null;
        var rest = new CallArgs([.. a.Positional.Skip(first + 1)], a.Keywords);
        foreach (object? item in Python.Iterate(v))
        {
            object? value = attributeName is null ? item : Attribute(item, attributeName);
            bool passed = test is null ? Python.Truthy(value) : Predicates.Test(ev, test, value, rest);
            if (passed == keep)
                yield return item;
        }
    }

    private static JinjaList Unique(object? v, CallArgs a)
    {
        bool caseSensitive = Python.Truthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute") as string;
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (object? item in Python.Iterate(v))
        {
            object? key = Fold(attribute is null ? item : Attribute(item, attribute), caseSensitive);
            if (seen.Any(s => Python.Equals(s, key)))
                continue;
            seen.Add(key);
            result.Add(item);
        }
        return new JinjaList(result);
    }

    private static JinjaList Sort(object? v, CallArgs a)
    {
        bool reverse = Python.Truthy(a.Get(0, "reverse", false)), caseSensitive = Python.Truthy(a.Get(1, "case_sensitive", false));
        var attribute = a.Get(2, "attribute") as string;
        var items = Python.Iterate(v).ToList();
        var sorted = items.Order(Comparer<object?>.Create((x, y) => Python.Compare(
            Fold(attribute is null ? x : Attribute(x, attribute), caseSensitive), Fold(attribute is null ? y : Attribute(y, attribute), caseSensitive)))).ToList();
        if (reverse)
            sorted.Reverse();
        return new JinjaList(sorted);
    }

    private static object? MinMax(object? v, CallArgs a, bool max)
    {
        bool caseSensitive = Python.Truthy(a.Get(0, "case_sensitive", false));
        var attribute = a.Get(1, "attribute") as string;
        var items = Python.Iterate(v).ToList();
        if (items.Count == 0)
            return new Undefined($"No aggregated item, sequence was empty.");
        object? best = items[0];
        foreach (object? item in items.Skip(1))
        {
            int c = Python.Compare(Fold(attribute is null ? item : Attribute(item, attribute), caseSensitive),
                Fold(attribute is null ? best : Attribute(best, attribute), caseSensitive));
            if (max ? c > 0 : c < 0)
                best = item;
        }
        return best;
    }

    private static JinjaList Batch(object? v, CallArgs a)
    {
        long size = Python.AsLong(a.Get(0, "linecount"));
        if (size <= 0)
            throw new JinjaException("ValueError", "batch size must be positive");
        object? fill = a.Get(1, "fill_with");
        bool hasFill = a.Has(1, "fill_with");
        var batches = new List<object?>();
        var current = new List<object?>();
        foreach (object? item in Python.Iterate(v))
        {
            current.Add(item);
            if (current.Count == size)
            {
                batches.Add(new JinjaList(current));
                current = [];
            }
        }
        if (current.Count > 0)
        {
            while (hasFill && current.Count < size)
                current.Add(fill);
            batches.Add(new JinjaList(current));
        }
        return new JinjaList(batches);
    }

    private static object? ToInt(object? v, object? fallback)
    {
        switch (v)
        {
            case long or bool: return Python.AsLong(v);
            case double d when double.IsFinite(d) && Math.Abs(d) < 9.2e18: return (long)Math.Truncate(d);
            case string s:
                string t = s.Trim(Strings.WhitespaceChars).Replace("_", "", StringComparison.Ordinal);
                if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
                    return l;
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && double.IsFinite(f) && Math.Abs(f) < 9.2e18)
                    return (long)Math.Truncate(f);
                return fallback;
            default: return fallback;
        }
    }

    private static object? ToFloat(object? v, object? fallback) => v switch
    {
        long or bool => Python.ToDouble(v),
        double => v,
        string s when double.TryParse(s.Trim(Strings.WhitespaceChars), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
        _ => fallback,
    };
}
