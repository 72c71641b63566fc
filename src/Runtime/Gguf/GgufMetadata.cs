using LlamaAot.Diagnostics;

namespace LlamaAot.Gguf;

/// <summary>
/// The metadata of a GGUF file: ordered key/value pairs with typed accessors that explain, in their exceptions,
/// which key was missing or had the wrong type.
/// </summary>
public sealed class GgufMetadata
{
    private readonly Dictionary<string, GgufValue> _values = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>Keys in file order.</summary>
    public IReadOnlyList<string> Keys => _order;

    public int Count => _order.Count;

    public GgufValue this[string key] =>
        _values.TryGetValue(key, out var v) ? v : throw new GgufFormatException($"missing metadata key {Excerpt.Quote(key)}");

    internal bool TryAdd(string key, GgufValue value)
    {
        if (!_values.TryAdd(key, value))
            return false;
        _order.Add(key);
        return true;
    }

    public bool Contains(string key) => _values.ContainsKey(key);

    public bool TryGet(string key, out GgufValue value) => _values.TryGetValue(key, out value!);

    /// <summary>A string value, or <paramref name="fallback"/> when the key is absent.</summary>
    public string? GetString(string key, string? fallback = null)
    {
        if (!_values.TryGetValue(key, out var v))
            return fallback;
        return v.Value as string ?? throw WrongType(key, v, "a string");
    }

    /// <summary>An integer value of any integer type, range-checked, or <paramref name="fallback"/> when absent.</summary>
    public long GetInt64(string key, long? fallback = null)
    {
        if (!_values.TryGetValue(key, out var v))
            return fallback ?? throw new GgufFormatException($"missing metadata key {Excerpt.Quote(key)}");
        return v.TryGetInt64(out long l) ? l : throw WrongType(key, v, "an integer");
    }

    /// <summary>An integer that must fit in an int (dimensions, counts, token ids).</summary>
    public int GetInt32(string key, int? fallback = null)
    {
        long l = GetInt64(key, fallback);
        if (l is < int.MinValue or > int.MaxValue)
            throw new GgufFormatException($"metadata {Excerpt.Quote(key)} = {l} is out of range");
        return (int)l;
    }

    /// <summary>A number of any numeric type as float, or <paramref name="fallback"/> when absent.</summary>
    public float GetSingle(string key, float? fallback = null)
    {
        if (!_values.TryGetValue(key, out var v))
            return fallback ?? throw new GgufFormatException($"missing metadata key {Excerpt.Quote(key)}");
        return v.TryGetDouble(out double d) ? (float)d : throw WrongType(key, v, "a number");
    }

    public bool GetBool(string key, bool fallback)
    {
        if (!_values.TryGetValue(key, out var v))
            return fallback;
        return v.Value as bool? ?? throw WrongType(key, v, "a bool");
    }

    /// <summary>An array whose elements are <typeparamref name="T"/>, or null when the key is absent.</summary>
    public T[]? GetArray<T>(string key)
    {
        if (!_values.TryGetValue(key, out var v))
            return null;
        if (v.Value is GgufArray { Items: T[] items })
            return items;
        throw WrongType(key, v, $"an array of {typeof(T).Name}");
    }

    private static GgufFormatException WrongType(string key, GgufValue v, string expected) =>
        new($"metadata {Excerpt.Quote(key)} is {v.Type}{(v.Value is GgufArray a ? $" of {a.ElementType}" : "")}, expected {expected}");
}
