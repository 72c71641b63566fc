using System.Globalization;
using System.Text;

namespace LlamaAot.Chat.Jinja;

/// <summary>
/// Attribute and item access as jinja2's ImmutableSandboxedEnvironment does it: <c>a.b</c> looks for a method or
/// attribute first, then an item; <c>a['b']</c> an item first. Only the methods below exist; those that would
/// change a list or dict (jinja2's <c>_mutable_spec</c>) and every dunder name give an Undefined that raises
/// SecurityError when used, as the sandbox does. A miss gives jinja2's Undefined, which fails only when used.
/// </summary>
internal static class Members
{
    private static readonly HashSet<string> StringMethods =
    [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower", "title",
        "capitalize", "swapcase", "casefold", "replace", "find", "rfind", "index", "rindex", "count", "join", "format",
        "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", "isnumeric", "isdecimal", "istitle", "zfill",
        "center", "ljust", "rjust", "partition", "rpartition", "removeprefix", "removesuffix", "expandtabs",
    ];

    private static readonly HashSet<string> DictMethods = ["keys", "values", "items", "get", "copy"];

    private static readonly HashSet<string> ListMethods = ["index", "count", "copy"];

    /// <summary>Methods that change their object: the immutable sandbox refuses them (jinja2.sandbox._mutable_spec).</summary>
    private static readonly HashSet<string> MutatingList = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear", "__setitem__", "__delitem__", "__iadd__", "__imul__"];

    private static readonly HashSet<string> MutatingDict = ["clear", "pop", "popitem", "setdefault", "update", "__setitem__", "__delitem__"];

    private static Undefined Unsafe(object? obj, string name) =>
        new($"access to attribute '{name}' of '{Python.TypeName(obj)}' object is unsafe.", "SecurityError");

    private static Undefined Missing(object? obj, object? name) => obj is null
        ? new($"'None' has no attribute {Python.Repr(name)}")
        : name is string s
            ? new($"'{Python.TypeName(obj)} object' has no attribute '{s}'")
            : new($"{Python.TypeName(obj)} object has no element {Python.Repr(name)}");

    public static object? GetAttr(object? obj, string name)
    {
        obj = Markup.Unwrap(obj);
        if (obj is Undefined u)
            throw u.Fail();
        if (name.StartsWith("__", StringComparison.Ordinal))
            return Unsafe(obj, name);
        switch (obj)
        {
            case string s when StringMethods.Contains(name):
                return Method(name, a => StringMethod(s, name, a));
            case JinjaDict d:
                if (DictMethods.Contains(name))
                    return Method(name, a => DictMethod(d, name, a));
                if (MutatingDict.Contains(name))
                    return Unsafe(obj, name);
                return d.TryGet(name, out object? v) ? v : Missing(obj, name);
            case JinjaList l:
                if (ListMethods.Contains(name))
                    return Method(name, a => ListMethod(l, name, a));
                if (!l.IsTuple && MutatingList.Contains(name))
                    return Unsafe(obj, name);
                break;
            case Namespace n:
                return n.Attributes.TryGet(name, out object? attribute) ? attribute : Missing(obj, name);
            case LoopInfo loop:
                return loop.Get(name);
        }
        return Missing(obj, name);
    }

    public static object? GetItem(object? obj, object? key)
    {
        obj = Markup.Unwrap(obj);
        key = Markup.Unwrap(key);
        switch (obj)
        {
            case Undefined u:
                throw u.Fail();
            case JinjaDict d:
                if (d.TryGet(key, out object? v))
                    return v;
                break;
            case JinjaList l when key is long or bool:
            {
                long i = Python.AsLong(key);
                if (i < 0)
                    i += l.Count;
                if (i >= 0 && i < l.Count)
                    return l.Items[(int)i];
                return Missing(obj, key);
            }
            case string s when key is long or bool:
                return Strings.At(s, Python.AsLong(key)) ?? (object)Missing(obj, key);
            case Namespace n when key is string:
                break;
        }
        return key is string name ? GetAttr(obj, name) : Missing(obj, key);
    }

    public static object? Slice(object? obj, long? start, long? stop, long? step) => Markup.Unwrap(obj) switch
    {
        string s => Strings.Slice(s, start, stop, step),
        JinjaList l => new JinjaList([.. Python.SliceIndexes(l.Count, start, stop, step).Select(i => l.Items[i])], l.IsTuple),
        Undefined u => throw u.Fail(),
        null => throw JinjaException.Type("'NoneType' object is not subscriptable"),
        _ => throw JinjaException.Type($"'{Python.TypeName(obj)}' object is not subscriptable"),
    };

    private static Callable Method(string name, Func<CallArgs, object?> invoke) => new(name, invoke);

    private static object? DictMethod(JinjaDict d, string name, CallArgs a) => name switch
    {
        "keys" => new JinjaList([.. d.Keys]),
        "values" => new JinjaList([.. d.Pairs().Select(p => p.Value)]),
        "items" => new JinjaList([.. d.Pairs().Select(p => (object?)JinjaList.Tuple(p.Key, p.Value))]),
        "get" => d.TryGet(a.Get(0, "key"), out object? v) ? v : a.Get(1, "default"),
        "copy" => Copy(d),
        _ => throw new InvalidOperationException(name),
    };

    private static JinjaDict Copy(JinjaDict d)
    {
        var copy = new JinjaDict();
        foreach (var (k, v) in d.Pairs())
            copy.Set(k, v);
        return copy;
    }

    private static object? ListMethod(JinjaList l, string name, CallArgs a)
    {
        object? item = a.Get(0, "value");
        switch (name)
        {
            case "count":
                return (long)l.Items.Count(x => Python.Equals(x, item));
            case "copy":
                return new JinjaList([.. l.Items]);
            default:
                int i = l.Items.FindIndex(x => Python.Equals(x, item));
                return i >= 0 ? (long)i : throw new JinjaException("ValueError", $"{Python.Repr(item)} is not in list");
        }
    }

    private static string Text(CallArgs a, int index, string name)
    {
        object? v = a.Get(index, name);
        return v as string ?? throw JinjaException.Type($"must be str, not {Python.TypeName(v)}");
    }

    private static string? OptionalText(CallArgs a, int index, string name) => a.Get(index, name) switch
    {
        null => null,
        string s => s,
        var v => throw JinjaException.Type($"must be str or None, not {Python.TypeName(v)}"),
    };

    private static long Integer(CallArgs a, int index, string name, long fallback)
    {
        object? v = a.Get(index, name, fallback);
        return v is long or bool ? Python.AsLong(v) : throw JinjaException.Type($"'{Python.TypeName(v)}' object cannot be interpreted as an integer");
    }

    private static object? StringMethod(string s, string name, CallArgs a)
    {
        switch (name)
        {
            case "strip": return Strings.Strip(s, OptionalText(a, 0, "chars"), true, true);
            case "lstrip": return Strings.Strip(s, OptionalText(a, 0, "chars"), true, false);
            case "rstrip": return Strings.Strip(s, OptionalText(a, 0, "chars"), false, true);
            case "split": return ToList(Strings.Split(s, OptionalText(a, 0, "sep"), Integer(a, 1, "maxsplit", -1)));
            case "rsplit": return ToList(Strings.RSplit(s, OptionalText(a, 0, "sep"), Integer(a, 1, "maxsplit", -1)));
            case "splitlines": return ToList(Strings.SplitLines(s, Python.Truthy(a.Get(0, "keepends", false))));
            case "startswith": return Affix(s, a.Get(0, "prefix"), start: true);
            case "endswith": return Affix(s, a.Get(0, "suffix"), start: false);
            case "upper": return s.ToUpperInvariant();
            case "lower": return s.ToLowerInvariant();
            case "casefold": return s.ToLowerInvariant();
            case "swapcase": return new string([.. s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c))]);
            case "title": return Strings.Title(s);
            case "capitalize": return Strings.Capitalize(s);
            case "replace":
            {
                string old = Text(a, 0, "old"), replacement = Text(a, 1, "new");
                long count = Integer(a, 2, "count", -1);
                return Replace(s, old, replacement, count);
            }
            case "find": return (long)s.IndexOf(Text(a, 0, "sub"), StringComparison.Ordinal);
            case "rfind": return (long)s.LastIndexOf(Text(a, 0, "sub"), StringComparison.Ordinal);
            case "index" or "rindex":
            {
                string sub = Text(a, 0, "sub");
                int at = name == "index" ? s.IndexOf(sub, StringComparison.Ordinal) : s.LastIndexOf(sub, StringComparison.Ordinal);
                return at >= 0 ? (long)at : throw new JinjaException("ValueError", "substring not found");
            }
            case "count":
            {
                string sub = Text(a, 0, "sub");
                return sub.Length == 0 ? Strings.Length(s) + 1L : (long)Strings.Split(s, sub, -1).Count - 1;
            }
            case "join": return Strings.Join(s, Python.Iterate(a.Get(0, "iterable")).Select(x => x as string
                ?? throw JinjaException.Type($"sequence item: expected str instance, {Python.TypeName(x)} found")));
            case "format": return Format(s, a);
            case "isdigit" or "isdecimal" or "isnumeric": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": return s.Length > 0 && s.All(Strings.IsWhitespace);
            case "isupper": return s.Any(char.IsLetter) && !s.Any(char.IsLower);
            case "islower": return s.Any(char.IsLetter) && !s.Any(char.IsUpper);
            case "istitle": return s.Any(char.IsLetter) && Strings.Title(s) == s;
            case "zfill":
            {
                int width = (int)Math.Min(Integer(a, 0, "width", 0), 1 << 20);
                bool sign = s.Length > 0 && s[0] is '+' or '-';
                return s.Length >= width ? s : sign ? s[0] + s[1..].PadLeft(width - 1, '0') : s.PadLeft(width, '0');
            }
            case "center" or "ljust" or "rjust":
            {
                int width = (int)Math.Min(Integer(a, 0, "width", 0), 1 << 20);
                char fill = (a.Get(1, "fillchar", " ") as string) is [var c] ? c : ' ';
                if (s.Length >= width)
                    return s;
                if (name == "ljust")
                    return s.PadRight(width, fill);
                if (name == "rjust")
                    return s.PadLeft(width, fill);
                int total = width - s.Length, left = total / 2 + (total & width & 1);
                return new string(fill, left) + s + new string(fill, total - left);
            }
            case "partition" or "rpartition":
            {
                string sep = Text(a, 0, "sep");
                int at = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                return at < 0
                    ? (name == "partition" ? JinjaList.Tuple(s, "", "") : JinjaList.Tuple("", "", s))
                    : JinjaList.Tuple(s[..at], sep, s[(at + sep.Length)..]);
            }
            case "removeprefix":
            {
                string p = Text(a, 0, "prefix");
                return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s;
            }
            case "removesuffix":
            {
                string p = Text(a, 0, "suffix");
                return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s;
            }
            case "expandtabs":
                BuildLimit.Check(s.Length * Math.Clamp(Integer(a, 0, "tabsize", 8), 1, 100));
                return s.Replace("\t", new string(' ', (int)Math.Clamp(Integer(a, 0, "tabsize", 8), 0, 100)), StringComparison.Ordinal);
            default: throw new InvalidOperationException(name);
        }
    }

    private static JinjaList ToList(List<string> parts) => new([.. parts]);

    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0 && old.Length == 0)
        {
            BuildLimit.Check(s.Length + (s.Length + 1L) * replacement.Length);
            return replacement + string.Join(replacement, Strings.CodePoints(s)) + (s.Length > 0 ? replacement : "");
        }
        var b = new StringBuilder();
        int from = 0;
        for (long n = 0; count < 0 || n < count; n++)
        {
            int at = old.Length == 0 ? (from <= s.Length ? from : -1) : s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0)
                break;
            b.Append(s, from, at - from).Append(replacement);
            BuildLimit.Check(b.Length);
            if (old.Length == 0)
            {
                if (at < s.Length)
                    b.Append(s[at]);
                from = at + 1;
            }
            else
                from = at + old.Length;
        }
        if (from < s.Length)
            b.Append(s, from, s.Length - from);
        return b.ToString();
    }

    private static bool Affix(string s, object? affix, bool start) => affix switch
    {
        string x => start ? s.StartsWith(x, StringComparison.Ordinal) : s.EndsWith(x, StringComparison.Ordinal),
        JinjaList { IsTuple: true } t => t.Items.Any(x => Affix(s, x, start)),
        _ => throw JinjaException.Type($"{(start ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {Python.TypeName(affix)}"),
    };

    /// <summary>Python's <c>str.format</c> for <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>{name.attr}</c>, <c>{{ }}</c>; format specs are refused.</summary>
    private static string Format(string s, CallArgs a)
    {
        var b = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '}' && i + 1 < s.Length && s[i + 1] == '}')
            {
                b.Append('}');
                i++;
                continue;
            }
            if (c != '{')
            {
                b.Append(c);
                continue;
            }
            if (i + 1 < s.Length && s[i + 1] == '{')
            {
                b.Append('{');
                i++;
                continue;
            }
            int close = s.IndexOf('}', i);
            if (close < 0)
                throw new JinjaException("ValueError", "Single '{' encountered in format string");
            string field = s[(i + 1)..close];
            int conversionAt = field.IndexOfAny(['!', ':']);
            if (conversionAt >= 0)
                throw new JinjaException("ValueError", $"format spec or conversion in {{{field}}} is not supported");
            string[] path = field.Split('.');
            object? value;
            if (path[0].Length == 0)
                value = auto < a.Positional.Count ? a.Positional[auto++] : throw new JinjaException("IndexError", "Replacement index out of range for positional args tuple");
            else if (int.TryParse(path[0], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                value = n < a.Positional.Count ? a.Positional[n] : throw new JinjaException("IndexError", $"Replacement index {n} out of range for positional args tuple");
            else
                value = a.Keywords.FirstOrDefault(k => k.Name == path[0]) is { Name: not null } k ? k.Value : throw new JinjaException("KeyError", $"'{path[0]}'");
            foreach (string attribute in path.Skip(1))
                value = GetAttr(value, attribute);
            b.Append(Python.Str(value));
            BuildLimit.Check(b.Length);
            i = close;
        }
        return b.ToString();
    }
}
