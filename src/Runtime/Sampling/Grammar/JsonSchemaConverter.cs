using LlamaAot.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LlamaAot.Sampling;

/// <summary>
/// JSON schema to GBNF, as llama.cpp 0.5.0's <c>json_schema_to_grammar</c> (common/json-schema.cpp classifies a
/// schema, common/json-schema-to-grammar.cpp writes its rules): types, <c>enum</c>, <c>const</c>, <c>properties</c> /
/// <c>required</c> / <c>additionalProperties</c> (required properties first, then the optional ones, each in the
/// order of <c>properties</c>), <c>items</c> / <c>prefixItems</c> / <c>minItems</c> / <c>maxItems</c>, string
/// <c>minLength</c> / <c>maxLength</c> / <c>pattern</c> / <c>format</c> (date, time, date-time, uuid), integer
/// bounds, <c>anyOf</c> / <c>oneOf</c> / <c>allOf</c>, <c>$ref</c> into the same document. Annotations are ignored; a
/// constraint it cannot express is an error that names it (where llama.cpp would ignore it, or accept any string
/// for a pattern it cannot convert, which would let through values the schema rejects).
/// </summary>
internal sealed partial class JsonSchemaConverter
{
    /// <summary>JSON Schema keywords that constrain values and that the grammar cannot express.</summary>
    private static readonly string[] Unsupported =
    [
        "not", "if", "then", "else", "multipleOf", "contains", "minContains", "maxContains",
        "minProperties", "maxProperties", "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas",
        "dependencies", "unevaluatedProperties", "unevaluatedItems", "additionalItems", "$dynamicRef", "$recursiveRef",
    ];

    /// <summary>
    /// Constraints the grammar cannot express but that llama.cpp ignores and its own test cases use (a product schema
    /// with <c>"uniqueItems": true</c> must convert): not enforced, and said in <see cref="Warnings"/>.
    /// </summary>
    private static readonly string[] NotEnforced = ["uniqueItems"];

    // Bound on $ref and nesting depth, so a hostile schema cannot overflow the thread's stack.
    private const int MaxDepth = 200;

    private readonly JsonElement _root;
    private readonly SortedDictionary<string, string> _rules = new(StringComparer.Ordinal) { ["space"] = SpaceRule };
    private readonly HashSet<string> _refsBeingResolved = new(StringComparer.Ordinal);
    private readonly List<string> _warnings = [];
    private int _depth;

    private JsonSchemaConverter(JsonElement root) => _root = root;

    /// <summary>Converts a JSON schema (its text) to GBNF whose <c>root</c> rule matches the values it accepts.</summary>
    /// <exception cref="GrammarException">The text is not JSON, or the schema is invalid or unsupported (said where).</exception>
    public static string Convert(string schema) => Convert(schema, out _);

    /// <inheritdoc cref="Convert(string)"/>
    /// <param name="warnings">The constraints of the schema the grammar does not enforce (llama.cpp's warnings).</param>
    public static string Convert(string schema, out IReadOnlyList<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(schema);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(schema, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new GrammarException($"the JSON schema is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var converter = new JsonSchemaConverter(doc.RootElement);
            converter.Visit(doc.RootElement, "", "#");
            warnings = converter._warnings;
            var b = new StringBuilder();
            foreach (var (name, rule) in converter._rules)
                b.Append(name).Append(" ::= ").Append(rule).Append('\n');
            return b.ToString();
        }
    }

    private enum Kind { Any, Ref, AnyOf, TypeList, AllOf, Const, Enum, Object, Array, String, Integer, Number, Boolean, Null }

    /// <summary>
    /// What a schema is, in llama.cpp's order of precedence (<c>build_node</c>); <paramref name="type"/> overrides its
    /// "type" (one member of a type list).
    /// </summary>
    private Kind Classify(JsonElement s, string path, string? type = null)
    {
        if (s.ValueKind != JsonValueKind.Object)
            throw Fail(path, "a schema must be an object");
        foreach (var p in s.EnumerateObject())
        {
            if (Array.IndexOf(Unsupported, p.Name) >= 0)
                throw Fail(path, $"the keyword '{p.Name}' is not supported (a grammar cannot express it)");
            string warning = $"{p.Name} at {Excerpt.Quote(path)} is not enforced (a grammar cannot express it)";
            if (Array.IndexOf(NotEnforced, p.Name) >= 0 && !_warnings.Contains(warning))
                _warnings.Add(warning);
        }
        if (s.TryGetProperty("$ref", out _))
            return Kind.Ref;
        if (s.TryGetProperty("oneOf", out _) || s.TryGetProperty("anyOf", out _))
            return Kind.AnyOf;
        if (type is null && s.TryGetProperty("type", out var t))
        {
            if (t.ValueKind == JsonValueKind.Array)
                return t.GetArrayLength() > 0 ? Kind.TypeList : throw Fail(path, "type must not be empty");
            type = t.ValueKind == JsonValueKind.String ? t.GetString() : throw Fail(path, "type must be a string or an array of strings");
        }
        if (s.TryGetProperty("const", out _))
            return Kind.Const;
        if (s.TryGetProperty("enum", out var e))
            return e.ValueKind == JsonValueKind.Array && e.GetArrayLength() > 0 ? Kind.Enum : throw Fail(path, "enum must be a non-empty array");

        bool hasProperties = s.TryGetProperty("properties", out _)
            || (s.TryGetProperty("additionalProperties", out var ap) && ap.ValueKind != JsonValueKind.True);
        bool hasAllOf = s.TryGetProperty("allOf", out _);
        return type switch
        {
            null when hasProperties => Kind.Object,
            null when hasAllOf => Kind.AllOf,
            null when s.TryGetProperty("items", out _) || s.TryGetProperty("prefixItems", out _) => Kind.Array,
            null when s.TryGetProperty("pattern", out _) || s.TryGetProperty("minLength", out _) || s.TryGetProperty("maxLength", out _) || Format(s, path) is not null => Kind.String,
            null => Kind.Any,
            "object" => !hasProperties && hasAllOf ? Kind.AllOf : Kind.Object,
            "string" => hasAllOf ? Kind.AllOf : Kind.String,
            "array" => Kind.Array,
            "integer" => Kind.Integer,
            "number" => Kind.Number,
            "boolean" => Kind.Boolean,
            "null" => Kind.Null,
            _ => throw Fail(path, $"unrecognized type {Excerpt.Quote(type)}"),
        };
    }

    /// <summary>Adds the rules of schema <paramref name="s"/> and returns the name of the one that matches it (llama.cpp's <c>visit</c>).</summary>
    private string Visit(JsonElement s, string name, string path, string? type = null)
    {
        if (++_depth > MaxDepth)
            throw Fail(path, $"the schema nests more than {MaxDepth} deep");
        try
        {
            return VisitKind(s, name, path, type);
        }
        finally
        {
            _depth--;
        }
    }

    private string VisitKind(JsonElement s, string name, string path, string? type)
    {
        string ruleName = IsReservedName(name) ? name + "-" : name.Length == 0 ? "root" : name;
        string subName = name.Length == 0 ? "" : name + "-";
        switch (Classify(s, path, type))
        {
            case Kind.Ref:
                return AddRule(ruleName, ResolveRef(s.GetProperty("$ref"), path));
            case Kind.AnyOf:
            {
                string key = s.TryGetProperty("oneOf", out _) ? "oneOf" : "anyOf";
                var alts = Alternatives(s, key, path);
                return AddRule(ruleName, string.Join(" | ", alts.Select((a, i) =>
                    Visit(a, name + (name.Length == 0 ? "alternative-" : "-") + i.ToString(CultureInfo.InvariantCulture), $"{path}/{key}/{i}"))));
            }
            case Kind.TypeList:
            {
                var types = s.GetProperty("type").EnumerateArray().ToList();
                return AddRule(ruleName, string.Join(" | ", types.Select((t, i) =>
                    Visit(s, name + (name.Length == 0 ? "alternative-" : "-") + i.ToString(CultureInfo.InvariantCulture), $"{path}/type/{i}",
                        t.ValueKind == JsonValueKind.String ? t.GetString()! : throw Fail(path, "type must be a string or an array of strings")))));
            }
            case Kind.AllOf:
                return VisitAllOf(s, name, ruleName, path);
            case Kind.Const:
                return AddRule(ruleName, Literal(Dump(s.GetProperty("const"))));
            case Kind.Enum:
                return AddRule(ruleName, "(" + string.Join(" | ", s.GetProperty("enum").EnumerateArray().Select(v => Literal(Dump(v)))) + ")");
            case Kind.Object:
                return VisitObject(s, name, ruleName, path);
            case Kind.Array:
                return VisitArray(s, ruleName, subName, path);
            case Kind.String:
                return VisitString(s, ruleName, path);
            case Kind.Integer:
            {
                long min = long.MinValue, max = long.MaxValue;
                if (s.TryGetProperty("minimum", out var v))
                    min = Bound(v, "minimum", path, roundUp: true);
                else if (s.TryGetProperty("exclusiveMinimum", out v))
                    min = Bound(v, "exclusiveMinimum", path, roundUp: false) + 1;
                if (s.TryGetProperty("maximum", out v))
                    max = Bound(v, "maximum", path, roundUp: false);
                else if (s.TryGetProperty("exclusiveMaximum", out v))
                    max = Bound(v, "exclusiveMaximum", path, roundUp: true) - 1;
                if (min == long.MinValue && max == long.MaxValue)
                    return Primitive(ruleName, "integer");
                if (min > max)
                    throw Fail(path, $"no integer lies between the minimum {min} and the maximum {max}");
                var b = new StringBuilder("(");
                MinMaxInt(min, max, b);
                return AddRule(ruleName, b.Append(')').ToString());
            }
            case Kind.Number:
                return Primitive(ruleName, "number");
            case Kind.Boolean:
                return Primitive(ruleName, "boolean");
            case Kind.Null:
                return Primitive(ruleName, "null");
            default:
                return AddRule(ruleName, AddPrimitive("value"));
        }
    }

    private string VisitObject(JsonElement s, string name, string ruleName, string path)
    {
        var required = new HashSet<string>(StringComparer.Ordinal);
        if (s.TryGetProperty("required", out var req) && req.ValueKind == JsonValueKind.Array)
            foreach (var r in req.EnumerateArray())
                if (r.ValueKind == JsonValueKind.String)
                    required.Add(r.GetString()!);
        var properties = new List<(string Name, JsonElement Schema, string Path)>();
        if (s.TryGetProperty("properties", out var props))
        {
            if (props.ValueKind != JsonValueKind.Object)
                throw Fail(path, "properties must be an object");
            foreach (var p in props.EnumerateObject())
                properties.Add((p.Name, p.Value, $"{path}/properties/{p.Name}"));
        }
        // additionalProperties: absent with no properties, or true, means any value; false, none; a schema, that.
        JsonElement? additional = null;
        bool additionalAny = false;
        if (s.TryGetProperty("additionalProperties", out var ap))
        {
            if (ap.ValueKind == JsonValueKind.True)
                additionalAny = true;
            else if (ap.ValueKind == JsonValueKind.Object)
                additional = ap;
            else if (ap.ValueKind != JsonValueKind.False)
                throw Fail(path, "additionalProperties must be a boolean or a schema");
        }
        else if (properties.Count == 0)
        {
            additionalAny = true;
        }
        if (properties.Count == 0 && additionalAny)
            return AddRule(ruleName, AddPrimitive("object"));
        return AddRule(ruleName, ObjectRule(properties, required, name, additionalAny, additional, path));
    }

    /// <summary>llama.cpp's <c>_visit_all_of</c>: the properties of every object part (those of anyOf parts optional), or the common enum values.</summary>
    private string VisitAllOf(JsonElement s, string name, string ruleName, string path)
    {
        var required = new HashSet<string>(StringComparer.Ordinal);
        var properties = new List<(string Name, JsonElement Schema, string Path)>();
        var enumCounts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var parts = Alternatives(s, "allOf", path);

        void AddComponent(JsonElement comp, bool isRequired, string at)
        {
            switch (Classify(comp, at))
            {
                case Kind.Ref:
                    AddComponent(RefTarget(comp.GetProperty("$ref"), at), isRequired, at);
                    break;
                case Kind.Object when comp.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object:
                    // As llama.cpp: every property of a required part is required, whatever that part's "required".
                    foreach (var p in props.EnumerateObject())
                    {
                        properties.Add((p.Name, p.Value, $"{at}/properties/{p.Name}"));
                        if (isRequired)
                            required.Add(p.Name);
                    }
                    break;
                case Kind.Enum:
                    foreach (var v in comp.GetProperty("enum").EnumerateArray())
                    {
                        string literal = Literal(Dump(v));
                        enumCounts[literal] = enumCounts.GetValueOrDefault(literal) + 1;
                    }
                    break;
            }
        }

        for (int i = 0; i < parts.Count; i++)
        {
            string at = $"{path}/allOf/{i}";
            if (Classify(parts[i], at) == Kind.AnyOf)
            {
                string key = parts[i].TryGetProperty("oneOf", out _) ? "oneOf" : "anyOf";
                var alts = Alternatives(parts[i], key, at);
                for (int j = 0; j < alts.Count; j++)
                    AddComponent(alts[j], false, $"{at}/{key}/{j}");
            }
            else
            {
                AddComponent(parts[i], true, at);
            }
        }
        var common = enumCounts.Where(e => e.Value == parts.Count).Select(e => e.Key).ToList();
        if (common.Count > 0)
            return AddRule(ruleName, "(" + string.Join(" | ", common) + ")");
        return AddRule(ruleName, ObjectRule(properties, required, name, false, null, path));
    }
}
