using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlamaAot.Chat.Jinja;

/// <summary>
/// JSON in and out of templates. In: a JsonNode becomes dicts, lists, strings, ints, floats. Out: transformers'
/// <c>tojson</c>, which is Python's <c>json.dumps(x, ensure_ascii=False, indent=..., separators=..., sort_keys=...)</c>:
/// <c>", "</c> and <c>": "</c> between items (<c>","</c> at line ends with an indent), non-ASCII kept, floats as
/// Python's repr.
/// </summary>
internal static class Json
{
    public static object? FromNode(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => FromObject(o),
        JsonArray a => new JinjaList([.. a.Select(FromNode)]),
        JsonValue v => FromValue(v),
        _ => throw new InvalidOperationException(),
    };

    private static JinjaDict FromObject(JsonObject o)
    {
        var d = new JinjaDict();
        foreach (var (k, v) in o)
            d.Set(k, FromNode(v));
        return d;
    }

    private static object? FromValue(JsonValue v)
    {
        switch (v.GetValueKind())
        {
            case JsonValueKind.String: return v.GetValue<string>();
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.Null: return null;
            case JsonValueKind.Number:
                string text = v.ToJsonString();
                if (text.AsSpan().IndexOfAny(".eE") < 0 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
                    return l;
                return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            default: throw new InvalidOperationException();
        }
    }

    /// <summary>Python's json.dumps with transformers' defaults.</summary>
    public static string Dumps(object? value, string? indent, string itemSeparator, string keySeparator, bool sortKeys)
    {
        var b = new StringBuilder();
        Write(b, value, indent, itemSeparator, keySeparator, sortKeys, 0);
        return b.ToString();
    }

    /// <summary>An array or object: empty as <c>[]</c>/<c>{}</c>, else its items separated, one per line with an indent.</summary>
    private static void Container(StringBuilder b, char open, char close, int count, string? indent, string itemSep, int level, Action<int> item)
    {
        b.Append(open);
        for (int i = 0; i < count; i++)
        {
            if (i > 0)
                b.Append(itemSep);
            if (indent is not null)
                NewLine(b, indent, level + 1);
            BuildLimit.Check(b.Length);
            item(i);
        }
        if (indent is not null && count > 0)
            NewLine(b, indent, level);
        b.Append(close);
    }

    private static void NewLine(StringBuilder b, string indent, int level)
    {
        b.Append('\n');
        for (int i = 0; i < level; i++)
            b.Append(indent);
    }

    private static void Write(StringBuilder b, object? v, string? indent, string itemSep, string keySep, bool sortKeys, int level)
    {
        if (level > 1000)
            throw new JinjaException("RecursionError", "maximum recursion depth exceeded while encoding a JSON object");
        switch (v)
        {
            case null: b.Append("null"); return;
            case bool x: b.Append(x ? "true" : "false"); return;
            case long x: b.Append(x.ToString(CultureInfo.InvariantCulture)); return;
            case double x:
                b.Append(double.IsNaN(x) ? "NaN" : double.IsInfinity(x) ? (x > 0 ? "Infinity" : "-Infinity") : Python.FloatRepr(x));
                return;
            case string s: WriteString(b, s); return;
            case Markup m: WriteString(b, m.Text); return;
            case JinjaList l:
                Container(b, '[', ']', l.Count, indent, itemSep, level, i => Write(b, l.Items[i], indent, itemSep, keySep, sortKeys, level + 1));
                return;
            case JinjaDict d:
            {
                var pairs = d.Pairs().Select(p => (Key: KeyText(p.Key), p.Value)).ToList();
                if (sortKeys)
                    pairs.Sort((x, y) => string.CompareOrdinal(x.Key, y.Key));
                Container(b, '{', '}', pairs.Count, indent, itemSep, level, i =>
                {
                    WriteString(b, pairs[i].Key);
                    b.Append(keySep);
                    Write(b, pairs[i].Value, indent, itemSep, keySep, sortKeys, level + 1);
                });
                return;
            }
            default:
                throw JinjaException.Type($"Object of type {Python.TypeName(v)} is not JSON serializable");
        }
    }

    private static string KeyText(object key) => key switch
    {
        string s => s,
        bool x => x ? "true" : "false",
        long x => x.ToString(CultureInfo.InvariantCulture),
        double x => Python.FloatRepr(x),
        _ => throw JinjaException.Type($"keys must be str, int, float, bool or None, not {Python.TypeName(key)}"),
    };

    private static void WriteString(StringBuilder b, string s)
    {
        b.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                case '\b': b.Append("\\b"); break;
                case '\f': b.Append("\\f"); break;
                default:
                    if (c < ' ')
                        b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else
                        b.Append(c);
                    break;
            }
        }
        b.Append('"');
    }
}
