namespace LlamaAot.Chat.Jinja;

// Runtime values. A template value is a plain object: null (Python None), bool, long (int), double (float), string,
// or one of the types below. Python semantics (truthiness, equality, str()) are in Python.cs.

/// <summary>
/// jinja2's default Undefined: renders as "", is false, iterates as empty, equals only another Undefined; anything
/// else (an attribute, an operator, a call) raises <see cref="Kind"/> with <see cref="Message"/>. The sandbox hands
/// out an Undefined of kind SecurityError for a method it refuses (<c>list.append</c>), as jinja2 does.
/// </summary>
internal sealed class Undefined(string message, string kind = "UndefinedError")
{
    public string Message { get; } = message;

    public string Kind { get; } = kind;

    public JinjaException Fail() => new(Kind, Message);

    public static Undefined Name(string name) => new($"'{name}' is undefined");
}

/// <summary>
/// markupsafe's Markup, which <c>|safe</c> makes: a string that HTML-escapes a plain string added to it with <c>+</c>
/// (<c>"a"|safe + "&lt;"</c> is <c>a&amp;lt;</c>). Everywhere else it acts as its text.
/// </summary>
internal sealed class Markup(string text)
{
    public string Text { get; } = text;

    public static object? Unwrap(object? v) => v is Markup m ? m.Text : v;

    public static string Escape(object? v) => v is Markup m ? m.Text
        : Python.Str(v).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&#34;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);
}

/// <summary>A Python list (or tuple). Templates cannot change one: the sandbox has no mutating methods.</summary>
internal sealed class JinjaList(List<object?> items, bool tuple = false)
{
    public List<object?> Items { get; } = items;

    public bool IsTuple { get; } = tuple;

    public int Count => Items.Count;

    public static JinjaList Tuple(params object?[] items) => new([.. items], tuple: true);
}

/// <summary>A Python dict: insertion order, keys compared as Python compares them (1 == 1.0 == True).</summary>
internal sealed class JinjaDict
{
    private readonly Dictionary<object, object?> _values = new(Python.KeyComparer);
    private readonly List<object> _keys = [];

    public int Count => _keys.Count;

    public IReadOnlyList<object> Keys => _keys;

    public bool TryGet(object? key, out object? value)
    {
        value = null;
        return key is not null && Python.IsHashable(key) && _values.TryGetValue(key, out value);
    }

    public bool ContainsKey(object? key) => TryGet(key, out _);

    /// <summary>Builds a dict (templates only make new ones; none is changed after it is made, but a namespace).</summary>
    public void Set(object key, object? value)
    {
        if (!_values.ContainsKey(key))
            _keys.Add(key);
        _values[key] = value;
    }

    public IEnumerable<KeyValuePair<object, object?>> Pairs()
    {
        foreach (object k in _keys)
            yield return new(k, _values[k]);
    }
}

/// <summary>jinja2's <c>namespace()</c>: the one object a template may change, through <c>{% set ns.attr = ... %}</c>.</summary>
internal sealed class Namespace
{
    public JinjaDict Attributes { get; } = new();
}

/// <summary>
/// What <c>map</c>, <c>select</c>, <c>selectattr</c>, <c>reject</c>, <c>reverse</c> return in jinja2: a Python
/// generator. It iterates once (a second loop over it sees nothing), has no length, and tojson refuses it.
/// </summary>
internal sealed class Generator(IEnumerable<object?> items)
{
    private IEnumerable<object?>? _items = items;

    public IEnumerable<object?> Take()
    {
        var items = _items ?? [];
        _items = null;
        return items;
    }
}

/// <summary>Arguments of a call as evaluated: positional, then keywords in order.</summary>
internal sealed record CallArgs(List<object?> Positional, List<(string Name, object? Value)> Keywords)
{
    public static readonly CallArgs Empty = new([], []);

    /// <summary>The parameter at <paramref name="index"/> or named <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        foreach (var (n, v) in Keywords)
        {
            if (n == name)
                return v;
        }
        return index >= 0 && index < Positional.Count ? Positional[index] : fallback;
    }

    public bool Has(int index, string name) => (index >= 0 && index < Positional.Count) || Keywords.Any(k => k.Name == name);
}

/// <summary>Anything a template can call: a macro, a global function, a bound method, <c>caller</c>, <c>loop.cycle</c>.</summary>
internal sealed class Callable(string name, Func<CallArgs, object?> invoke)
{
    public string Name { get; } = name;

    public object? Invoke(CallArgs args) => invoke(args);
}

/// <summary>The <c>loop</c> variable of a for loop.</summary>
internal sealed class LoopInfo(IReadOnlyList<object?> items)
{
    private object? _lastChanged = new();

    public int Index0 { get; set; }

    /// <summary>loop.changed(*values): true the first time and whenever the values differ from the last call's.</summary>
    private bool Changed(CallArgs a)
    {
        var values = new JinjaList(a.Positional, tuple: true);
        if (Python.Equals(values, _lastChanged))
            return false;
        _lastChanged = values;
        return true;
    }

    public object? Get(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(items.Count - Index0),
        "revindex0" => (long)(items.Count - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == items.Count - 1,
        "length" => (long)items.Count,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 < items.Count - 1 ? items[Index0 + 1] : new Undefined("there is no next item"),
        "changed" => new Callable("loop.changed", a => Changed(a)),
        "cycle" => new Callable("loop.cycle", a => a.Positional.Count == 0
            ? throw new JinjaException("TypeError", "no items for cycling given")
            : a.Positional[Index0 % a.Positional.Count]),
        _ => new Undefined($"'LoopContext object' has no attribute '{name}'"),
    };
}
