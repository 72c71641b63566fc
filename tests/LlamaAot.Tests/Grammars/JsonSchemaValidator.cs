using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlamaAot.Tests.Grammars;

/// <summary>
/// A small JSON Schema validator for the keywords the generation tests use (type, enum, const, properties, required,
/// additionalProperties, items, prefixItems, minItems, maxItems, minLength, maxLength, pattern, minimum, maximum,
/// exclusiveMinimum, exclusiveMaximum, anyOf, oneOf, allOf, $ref to #/$defs): written apart from the converter, so
/// the two check each other. Returns the first violation, or null.
/// </summary>
internal static class JsonSchemaValidator
{
    public static string? Validate(JsonElement schema, JsonElement value) => Check(schema, value, schema, "$");

    private static string? Check(JsonElement s, JsonElement v, JsonElement root, string at)
    {
        if (s.TryGetProperty("$ref", out var r))
            return Check(Resolve(root, r.GetString()!), v, root, at);
        if (s.TryGetProperty("anyOf", out var anyOf) && !anyOf.EnumerateArray().Any(a => Check(a, v, root, at) is null))
            return $"{at}: matches no anyOf branch";
        if (s.TryGetProperty("oneOf", out var oneOf) && oneOf.EnumerateArray().Count(a => Check(a, v, root, at) is null) != 1)
            return $"{at}: does not match exactly one oneOf branch";
        if (s.TryGetProperty("allOf", out var allOf) && allOf.EnumerateArray().Select(a => Check(a, v, root, at)).FirstOrDefault(e => e is not null) is { } allErr)
            return allErr;
        if (s.TryGetProperty("const", out var c) && !JsonElement.DeepEquals(c, v))
            return $"{at}: {v.GetRawText()} is not the const {c.GetRawText()}";
        if (s.TryGetProperty("enum", out var e) && !e.EnumerateArray().Any(x => JsonElement.DeepEquals(x, v)))
            return $"{at}: {v.GetRawText()} is not in the enum";
        if (s.TryGetProperty("type", out var t) && !(t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Any(x => IsType(v, x.GetString()!)) : IsType(v, t.GetString()!)))
            return $"{at}: {v.GetRawText()} is not of type {t.GetRawText()}";
        switch (v.ValueKind)
        {
            case JsonValueKind.Object:
                if (s.TryGetProperty("required", out var req))
                    foreach (var name in req.EnumerateArray())
                        if (!v.TryGetProperty(name.GetString()!, out _))
                            return $"{at}: required property {name.GetString()} is missing";
                var props = s.TryGetProperty("properties", out var p) ? p : default;
                foreach (var member in v.EnumerateObject())
                {
                    if (props.ValueKind == JsonValueKind.Object && props.TryGetProperty(member.Name, out var ps))
                    {
                        if (Check(ps, member.Value, root, $"{at}.{member.Name}") is { } err)
                            return err;
                    }
                    else if (s.TryGetProperty("additionalProperties", out var ap))
                    {
                        if (ap.ValueKind == JsonValueKind.False)
                            return $"{at}: additional property {member.Name}";
                        if (ap.ValueKind == JsonValueKind.Object && Check(ap, member.Value, root, $"{at}.{member.Name}") is { } err)
                            return err;
                    }
                }
                if (v.EnumerateObject().GroupBy(m => m.Name).Any(g => g.Count() > 1))
                    return $"{at}: a property appears twice";
                break;
            case JsonValueKind.Array:
                var items = v.EnumerateArray().ToList();
                if (s.TryGetProperty("minItems", out var min) && items.Count < min.GetInt32())
                    return $"{at}: {items.Count} items, fewer than {min.GetInt32()}";
                if (s.TryGetProperty("maxItems", out var max) && items.Count > max.GetInt32())
                    return $"{at}: {items.Count} items, more than {max.GetInt32()}";
                if (s.TryGetProperty("prefixItems", out var prefix))
                {
                    var schemas = prefix.EnumerateArray().ToList();
                    if (items.Count != schemas.Count)
                        return $"{at}: {items.Count} items for {schemas.Count} prefixItems";
                    for (int i = 0; i < items.Count; i++)
                        if (Check(schemas[i], items[i], root, $"{at}[{i}]") is { } err)
                            return err;
                }
                else if (s.TryGetProperty("items", out var item))
                {
                    for (int i = 0; i < items.Count; i++)
                        if (Check(item, items[i], root, $"{at}[{i}]") is { } err)
                            return err;
                }
                break;
            case JsonValueKind.String:
                string str = v.GetString()!;
                int length = str.EnumerateRunes().Count();
                if (s.TryGetProperty("minLength", out var minL) && length < minL.GetInt32())
                    return $"{at}: \"{str}\" is shorter than {minL.GetInt32()}";
                if (s.TryGetProperty("maxLength", out var maxL) && length > maxL.GetInt32())
                    return $"{at}: \"{str}\" is longer than {maxL.GetInt32()}";
                if (s.TryGetProperty("pattern", out var pattern) && !Regex.IsMatch(str, pattern.GetString()!))
                    return $"{at}: \"{str}\" does not match {pattern.GetString()}";
                break;
            case JsonValueKind.Number:
                double d = v.GetDouble();
                if (s.TryGetProperty("minimum", out var lo) && d < lo.GetDouble())
                    return $"{at}: {d} is below the minimum {lo.GetDouble()}";
                if (s.TryGetProperty("maximum", out var hi) && d > hi.GetDouble())
                    return $"{at}: {d} is above the maximum {hi.GetDouble()}";
                if (s.TryGetProperty("exclusiveMinimum", out var xlo) && d <= xlo.GetDouble())
                    return $"{at}: {d} is not above {xlo.GetDouble()}";
                if (s.TryGetProperty("exclusiveMaximum", out var xhi) && d >= xhi.GetDouble())
                    return $"{at}: {d} is not below {xhi.GetDouble()}";
                break;
        }
        return null;
    }

    private static bool IsType(JsonElement v, string type) => type switch
    {
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        "string" => v.ValueKind == JsonValueKind.String,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _) && !v.GetRawText().Contains('.', StringComparison.Ordinal),
        "number" => v.ValueKind == JsonValueKind.Number,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => v.ValueKind == JsonValueKind.Null,
        _ => throw new ArgumentException($"type {type} is not known to the test validator"),
    };

    private static JsonElement Resolve(JsonElement root, string reference)
    {
        var target = root;
        foreach (string part in reference[2..].Split('/'))
            target = target.GetProperty(part);
        return target;
    }

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
