using System.Reflection;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests.Infrastructure;

/// <summary>
/// Finds compilation-bound Roslyn objects in a pipeline value by walking its object graph. A step output that holds
/// one keeps an old compilation alive and, compared by reference, never caches (STYLE.md, "The generator").
/// </summary>
internal static class RoslynObjects
{
    private static readonly Type[] Forbidden =
    [
        typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Compilation), typeof(Location),
        typeof(SemanticModel), typeof(AttributeData), typeof(SyntaxToken), typeof(SyntaxReference), typeof(TypedConstant),
    ];

    /// <summary>The path to the first forbidden object inside <paramref name="root"/>, or null when there is none.</summary>
    public static string? FindIn(object? root) => Find(root, "value", new HashSet<object>(ReferenceEqualityComparer.Instance), 0);

    private static string? Find(object? value, string path, HashSet<object> seen, int depth)
    {
        if (value is null)
            return null;
        var type = value.GetType();
        if (Forbidden.Any(f => f.IsAssignableFrom(type)))
            return $"{path} ({type.Name})";
        if (type.IsPrimitive || type.IsEnum || value is string or decimal || type.IsPointer)
            return null;
        if (depth > 64)
            throw new InvalidOperationException($"{path}: object graph deeper than 64 levels");
        if (!type.IsValueType && !seen.Add(value))
            return null;
        if (value is Array array)
        {
            int i = 0;
            foreach (object? item in array)
            {
                if (Find(item, $"{path}[{i++}]", seen, depth + 1) is string found)
                    return found;
            }
            return null;
        }
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (Find(field.GetValue(value), $"{path}.{field.Name}", seen, depth + 1) is string found)
                    return found;
            }
        }
        return null;
    }
}
