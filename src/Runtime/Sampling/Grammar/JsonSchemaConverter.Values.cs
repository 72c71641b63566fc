using LlamaAot.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LlamaAot.Sampling;

/// <summary>Objects, arrays, strings and references of the JSON schema converter.</summary>
internal sealed partial class JsonSchemaConverter
{
    /// <summary>
    /// llama.cpp's <c>_build_object_rule</c>: the required properties in order, then the optional ones in order, each
    /// optional one possibly skipped; other keys (when allowed) after them, never a name of a declared property.
    /// </summary>
    private string ObjectRule(List<(string Name, JsonElement Schema, string Path)> properties, HashSet<string> required, string name,
        bool additionalAny, JsonElement? additional, string path)
    {
        string prefix = name.Length == 0 ? "" : name + "-";
        var kvRules = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> requiredProps = [], optionalProps = [];
        foreach (var (prop, schema, at) in properties)
        {
            string valueRule = Visit(schema, prefix + prop, at);
            kvRules[prop] = AddRule(prefix + prop + "-kv", Literal(Dump(prop)) + " space \":\" space " + valueRule);
            (required.Contains(prop) ? requiredProps : optionalProps).Add(prop);
        }
        if (additionalAny || additional is not null)
        {
            string sub = prefix + "additional";
            string valueRule = additional is { } a ? Visit(a, sub + "-value", path + "/additionalProperties") : AddPrimitive("value");
            string keyRule = properties.Count == 0 ? AddPrimitive("string") : AddRule(sub + "-k", NotStrings(properties.Select(p => p.Name).ToList()));
            kvRules["*"] = AddRule(sub + "-kv", keyRule + " \":\" space " + valueRule);
            optionalProps.Add("*");
        }
        if (requiredProps.Count == 0 && optionalProps.Count == 0)
            return "\"{\" space \"}\"";

        var rule = new StringBuilder("\"{\" space ");
        rule.AppendJoin(" \",\" space ", requiredProps.Select(p => kvRules[p]));
        if (optionalProps.Count > 0)
        {
            rule.Append(" (");
            if (requiredProps.Count > 0)
                rule.Append(" \",\" space ( ");

            // Optional property k and what may follow it: each later optional one, in order, or none.
            string Rest(int from, bool firstIsOptional)
            {
                string k = optionalProps[from], kv = kvRules[k];
                string comma = "( \",\" space " + kv + " )";
                string res = firstIsOptional ? comma + (k == "*" ? "*" : "?") : kv + (k == "*" ? " " + comma + "*" : "");
                if (from + 1 < optionalProps.Count)
                    res += " " + AddRule(prefix + k + "-rest", Rest(from + 1, true));
                return res;
            }

            rule.AppendJoin(" | ", Enumerable.Range(0, optionalProps.Count).Select(i => Rest(i, false)));
            if (requiredProps.Count > 0)
                rule.Append(" )");
            rule.Append(" )?");
        }
        return rule.Append(" space \"}\"").ToString();
    }

    /// <summary>
    /// A JSON string that is none of <paramref name="strings"/> (llama.cpp's <c>_not_strings</c>): a trie of them, each
    /// branch either leaving it or going on past its end.
    /// </summary>
    private string NotStrings(List<string> strings)
    {
        var root = new TrieNode();
        foreach (string s in strings)
        {
            var node = root;
            foreach (var rune in s.EnumerateRunes())
            {
                if (!node.Children.TryGetValue(rune.Value, out var child))
                    node.Children[rune.Value] = child = new TrieNode();
                node = child;
            }
            node.IsEnd = true;
        }
        string charRule = AddPrimitive("char");
        var o = new StringBuilder("[\"] ( ");
        void VisitNode(TrieNode node)
        {
            var rejects = new StringBuilder();
            bool first = true;
            foreach (var (cp, child) in node.Children)
            {
                string c = ClassChar(cp);
                rejects.Append(c);
                if (!first)
                    o.Append(" | ");
                first = false;
                o.Append('[').Append(c).Append(']');
                if (child.Children.Count > 0)
                {
                    o.Append(" (");
                    VisitNode(child);
                    o.Append(')');
                }
                else
                {
                    o.Append(' ').Append(charRule).Append('+');
                }
            }
            if (node.Children.Count > 0)
                o.Append(" | [^\"").Append(rejects).Append("] ").Append(charRule).Append('*');
        }
        VisitNode(root);
        o.Append(" )");
        if (!root.IsEnd)
            o.Append('?');
        return o.Append(" [\"]").ToString();
    }

    /// <summary>A code point as it can stand inside [...]: letters and digits as they are, the rest escaped.</summary>
    private static string ClassChar(int cp) =>
        cp is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or ' ' ? ((char)cp).ToString()
        : cp <= 0xFFFF ? $"\\u{cp:X4}" : $"\\U{cp:X8}";

    private sealed class TrieNode
    {
        public SortedDictionary<int, TrieNode> Children { get; } = [];

        public bool IsEnd { get; set; }
    }

    private string VisitArray(JsonElement s, string ruleName, string subName, string path)
    {
        if (s.TryGetProperty("items", out var items) || s.TryGetProperty("prefixItems", out items))
        {
            string key = s.TryGetProperty("items", out _) ? "items" : "prefixItems";
            if (items.ValueKind == JsonValueKind.Array)
            {
                var rule = new StringBuilder("\"[\" space ");
                rule.AppendJoin(" \",\" space ", items.EnumerateArray().Select((item, i) =>
                    Visit(item, subName + "tuple-" + i.ToString(CultureInfo.InvariantCulture), $"{path}/{key}/{i}")));
                return AddRule(ruleName, rule.Append(" space \"]\"").ToString());
            }
        }
        int min = Count(s, "minItems", path, 0), max = Count(s, "maxItems", path, -1);
        bool anyItems = !s.TryGetProperty("items", out items) && !s.TryGetProperty("prefixItems", out items);
        if (anyItems && min == 0 && max < 0)
            return Primitive(ruleName, "array");
        if (max >= 0 && max < min)
            throw Fail(path, $"maxItems {max} is below minItems {min}");
        string itemRule = anyItems ? AddPrimitive("value") : Visit(items, subName + "item", path + "/items");
        return AddRule(ruleName, "\"[\" space " + Repetition(itemRule, min, max < 0 ? int.MaxValue : max, "\",\" space") + " space \"]\"");
    }

    private string VisitString(JsonElement s, string ruleName, string path)
    {
        if (s.TryGetProperty("pattern", out var pattern))
            return pattern.ValueKind == JsonValueKind.String ? PatternRule(pattern.GetString()!, ruleName, path) : throw Fail(path, "pattern must be a string");
        string? format = Format(s, path);
        if (format == "uuid")
            return Primitive(ruleName, "uuid");
        if (format is not null)
            return AddRule(ruleName, AddPrimitive(format + "-string"));
        int min = Count(s, "minLength", path, 0), max = Count(s, "maxLength", path, -1);
        if (max >= 0 && max < min)
            throw Fail(path, $"maxLength {max} is below minLength {min}");
        if (min > 0 || max >= 0)
            return AddRule(ruleName, "\"\\\"\" " + Repetition(AddPrimitive("char"), min, max < 0 ? int.MaxValue : max) + " \"\\\"\"");
        return Primitive(ruleName, "string");
    }

    /// <summary>llama.cpp's <c>_resolve_ref</c>: a rule "ref-..." for the target, visited once (a cycle refers back to it).</summary>
    private string ResolveRef(JsonElement refValue, string path)
    {
        string reference = refValue.GetString()!;
        var target = RefTarget(refValue, path);
        string refName = "ref" + InvalidRuleChars(reference[(reference.IndexOf('#') + 1)..]);
        if (!_rules.ContainsKey(refName) && _refsBeingResolved.Add(reference))
        {
            refName = Visit(target, refName, reference);
            _refsBeingResolved.Remove(reference);
        }
        return refName;
    }

    /// <summary>The schema a <c>$ref</c> points at: only JSON pointers into this document (<c>#/$defs/x</c>).</summary>
    private JsonElement RefTarget(JsonElement refValue, string path)
    {
        if (refValue.ValueKind != JsonValueKind.String)
            throw Fail(path, "$ref must be a string");
        string reference = refValue.GetString()!;
        if (!reference.StartsWith("#/", StringComparison.Ordinal) && reference != "#")
            throw Fail(path, $"unsupported $ref {Excerpt.Quote(reference)}: only references into the same document (#/...) are supported");
        var target = _root;
        foreach (string raw in reference.Length > 2 ? reference[2..].Split('/') : [])
        {
            string sel = raw.Replace("~1", "/").Replace("~0", "~");
            if (target.ValueKind == JsonValueKind.Object && target.TryGetProperty(sel, out var next))
                target = next;
            else if (target.ValueKind == JsonValueKind.Array && int.TryParse(sel, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < target.GetArrayLength())
                target = target[i];
            else
                throw Fail(path, $"cannot resolve $ref {Excerpt.Quote(reference)}: {Excerpt.Quote(sel)} not found");
        }
        return target;
    }

    private string Primitive(string ruleName, string type) => AddPrimitive(ruleName == "root" ? "root" : type, type);

    /// <summary>Adds a fixed rule and, once each, the fixed rules it uses (llama.cpp's <c>_add_primitive</c>).</summary>
    private string AddPrimitive(string type) => AddPrimitive(type, type);

    private string AddPrimitive(string name, string type)
    {
        var (content, deps) = PrimitiveRules[type];
        string added = AddRule(name, content);
        foreach (string dep in deps)
            if (!_rules.ContainsKey(dep))
                AddPrimitive(dep);
        return added;
    }

    /// <summary>Adds a rule under a name made of [a-zA-Z0-9-], numbered when the name holds another rule (llama.cpp's <c>_add_rule</c>).</summary>
    private string AddRule(string name, string rule)
    {
        string esc = InvalidRuleChars(name);
        if (!_rules.TryGetValue(esc, out string? existing) || existing == rule)
        {
            _rules[esc] = rule;
            return esc;
        }
        int i = 0;
        while (_rules.TryGetValue(esc + i.ToString(CultureInfo.InvariantCulture), out existing) && existing != rule)
            i++;
        string key = esc + i.ToString(CultureInfo.InvariantCulture);
        _rules[key] = rule;
        return key;
    }

    /// <summary>Every run of characters outside [a-zA-Z0-9-] replaced by one '-'.</summary>
    private static string InvalidRuleChars(string name)
    {
        var b = new StringBuilder(name.Length);
        bool inRun = false;
        foreach (char c in name)
        {
            bool ok = c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-';
            if (ok)
                b.Append(c);
            else if (!inRun)
                b.Append('-');
            inRun = !ok;
        }
        return b.ToString();
    }

    private static List<JsonElement> Alternatives(JsonElement s, string key, string path)
    {
        var alts = s.GetProperty(key);
        if (alts.ValueKind != JsonValueKind.Array)
            throw Fail($"{path}/{key}", "must be an array of schemas");
        if (alts.GetArrayLength() == 0)
            throw Fail($"{path}/{key}", "must not be empty");
        return [.. alts.EnumerateArray()];
    }

    /// <summary>The format the converter knows ("date", "time", "date-time", "uuid"), or null (others are annotations).</summary>
    private static string? Format(JsonElement s, string path)
    {
        if (!s.TryGetProperty("format", out var f))
            return null;
        if (f.ValueKind != JsonValueKind.String)
            throw Fail(path, "format must be a string");
        string format = f.GetString()!;
        return format is "date" or "time" or "date-time" or "uuid" ? format
            : format.Length == 5 && format.StartsWith("uuid", StringComparison.Ordinal) && format[4] is >= '1' and <= '5' ? "uuid"
            : null;
    }

    private static int Count(JsonElement s, string key, string path, int fallback)
    {
        if (!s.TryGetProperty(key, out var v))
            return fallback;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) && n >= 0 ? n
            : throw Fail(path, $"{key} must be a non-negative integer");
    }

    /// <summary>An integer bound; a fractional one rounds inwards, to the integers it still admits.</summary>
    private static long Bound(JsonElement v, string key, string path, bool roundUp)
    {
        if (v.ValueKind != JsonValueKind.Number)
            throw Fail(path, $"{key} must be a number");
        if (v.TryGetInt64(out long l))
            return l;
        double d = v.GetDouble();
        d = roundUp ? Math.Ceiling(d) : Math.Floor(d);
        return d >= long.MaxValue ? long.MaxValue - 1 : d <= long.MinValue ? long.MinValue + 1 : (long)d;
    }

    /// <summary>A JSON value in compact form, non-ASCII characters as they are (nlohmann's <c>dump()</c>).</summary>
    private static string Dump(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => Dump(v.GetString()!),
        JsonValueKind.Array => "[" + string.Join(",", v.EnumerateArray().Select(Dump)) + "]",
        JsonValueKind.Object => "{" + string.Join(",", v.EnumerateObject().Select(p => Dump(p.Name) + ":" + Dump(p.Value))) + "}",
        _ => v.GetRawText(),
    };

    private static string Dump(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': b.Append("\\\""); break;
                case '\\': b.Append("\\\\"); break;
                case '\b': b.Append("\\b"); break;
                case '\f': b.Append("\\f"); break;
                case '\n': b.Append("\\n"); break;
                case '\r': b.Append("\\r"); break;
                case '\t': b.Append("\\t"); break;
                case < ' ': b.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: b.Append(c); break;
            }
        }
        return b.Append('"').ToString();
    }

    private static GrammarException Fail(string path, string message) => new($"JSON schema error at {Excerpt.Quote(path)}: {message}");
}
