using System.Reflection;
using LlamaAot.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace LlamaAot.Generators.Tests;

/// <summary>
/// The pipeline caches on Equals: every spec must be equal to one built again from equal parts (fresh strings and
/// arrays, never the same references) and unequal as soon as any one of its fields differs.
/// </summary>
public class SpecModelTests
{
    /// <summary>A copy that is equal but not the same reference (string literals are interned).</summary>
    private static string S(string s) => new(s.AsSpan());

    private static LocationInfo Location() => new(S("Kernels/ModelShapes.cs"), new TextSpan(10, 20), new LinePositionSpan(new(2, 1), new(2, 21)));

    private static TileSpec Tiles() => new(4, 4, 2);

    private static PrimitiveSpec Primitive() => new(
        S("Q4_0xQ8_0_Avx512"), S("global::LlamaAot.Quants.Q4_0xQ8_0_Avx512"),
        S("Q4_0"), S("global::LlamaAot.Quants.BlockQ4_0"), 32,
        S("Q8_0"), S("global::LlamaAot.Quants.BlockQ8_0"), 32,
        S("Avx512"), 64, Tiles());

    private static DiagnosticInfo Diagnostic() => new(S("LLAOT001"), S("K = 100 (odd) is not a multiple"), Location());

    private static EquatableArray<SpecializedK> Specialized() => new([new SpecializedK(64, S("tiny")), new SpecializedK(4096, S("Llama-2-7B"))]);
    private static EquatableArray<string> NotSpecialized() => new([S("K = 172 (stories260K) is not a multiple of the Q4_0 block (32 values)")]);

    private static EquatableArray<DiagnosticInfo> Fallbacks() => new([Diagnostic()]);

    /// <summary>A value of the same type that differs from <paramref name="value"/>.</summary>
    private static object? Different(Type type, object? value) => value switch
    {
        string s => s + "'",
        int i => i + 1,
        bool b => !b,
        TextSpan span => new TextSpan(span.Start + 1, span.Length),
        LinePositionSpan span => new LinePositionSpan(new(span.Start.Line + 1, 0), new(span.End.Line + 1, 0)),
        TileSpec t => t with { GemmColumns = t.GemmColumns + 1 },
        LocationInfo l => l with { FilePath = l.FilePath + "'" },
        PrimitiveSpec p => p with { Isa = "Avx2" },
        KernelPlan p => p with { Specialized = EquatableArray<SpecializedK>.Empty },
        EquatableArray<SpecializedK> a => new EquatableArray<SpecializedK>([.. a, new SpecializedK(1, "x")]),
        EquatableArray<DiagnosticInfo> a => new EquatableArray<DiagnosticInfo>([.. a.Skip(1)]),
        EquatableArray<string> a => new EquatableArray<string>([.. a, "K = 1 is odd"]),
        null when type == typeof(LocationInfo) => Location(),
        null when type == typeof(PrimitiveSpec) => Primitive(),
        _ => throw new NotSupportedException($"No different value for {type.Name}: add one here"),
    };

    public static TheoryData<string> Specs() => new(Cases.Keys.Order());

    /// <summary>Each spec type with a function that builds its constructor arguments afresh.</summary>
    private static readonly Dictionary<string, (Type Type, Func<object?[]> Args)> Cases = new()
    {
        [nameof(TileSpec)] = (typeof(TileSpec), () => [4, 4, 2, 1, 1]),
        [nameof(PrimitiveSpec)] = (typeof(PrimitiveSpec), () => [
            S("Q4_0xQ8_0_Avx512"), S("global::LlamaAot.Quants.Q4_0xQ8_0_Avx512"), S("Q4_0"), S("global::LlamaAot.Quants.BlockQ4_0"), 32,
            S("Q8_0"), S("global::LlamaAot.Quants.BlockQ8_0"), 32, S("Avx512"), 64, Tiles(), 0, false, S(""), false, false, S(""), 0, 0]),
        [nameof(ShapeSpec)] = (typeof(ShapeSpec), () => [S("Llama-2-7B"), 4096, 11008, Location()]),
        [nameof(LocationInfo)] = (typeof(LocationInfo), () => [S("a.cs"), new TextSpan(3, 4), new LinePositionSpan(new(1, 2), new(1, 6))]),
        [nameof(DiagnosticInfo)] = (typeof(DiagnosticInfo), () => [S("LLAOT001"), S("message"), Location()]),
        [nameof(PrimitiveParse)] = (typeof(PrimitiveParse), () => [Primitive(), Fallbacks()]),
        [nameof(KernelPlan)] = (typeof(KernelPlan), () => [Primitive(), Specialized(), NotSpecialized()]),
        [nameof(PlanResult)] = (typeof(PlanResult), () => [new KernelPlan(Primitive(), Specialized(), NotSpecialized()), Fallbacks()]),
        [nameof(SpecializedK)] = (typeof(SpecializedK), () => [4096, S("Llama-2-7B, Llama-3-8B")]),
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void A_spec_equals_one_built_again_from_equal_parts_and_differs_when_any_field_does(string name)
    {
        var (type, args) = Cases[name];
        var constructor = type.GetConstructors().Single();
        var parameters = constructor.GetParameters();
        object a = constructor.Invoke(args()), b = constructor.Invoke(args());

        Assert.NotSame(a, b);
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        for (int i = 0; i < parameters.Length; i++)
        {
            object?[] changed = args();
            changed[i] = Different(parameters[i].ParameterType, changed[i]);
            object c = constructor.Invoke(changed);
            Assert.False(a.Equals(c), $"{name} stays equal when {parameters[i].Name} differs");
        }
    }

    [Fact]
    public void Every_spec_type_is_covered_above()
    {
        var specTypes = typeof(KernelGenerator).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(PrimitiveSpec).Namespace && t.GetMethod("<Clone>$") is not null)
            .Select(t => t.Name)
            .Order(StringComparer.Ordinal);
        Assert.Equal(specTypes, Cases.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void No_spec_type_declares_a_field_of_a_Roslyn_type_bound_to_a_compilation()
    {
        Type[] forbidden = [typeof(ISymbol), typeof(SyntaxNode), typeof(SyntaxTree), typeof(Compilation), typeof(Location), typeof(SemanticModel), typeof(AttributeData)];
        var offenders =
            from type in typeof(KernelGenerator).Assembly.GetTypes()
            where type.Namespace == typeof(PrimitiveSpec).Namespace
            from field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
            where forbidden.Any(f => f.IsAssignableFrom(field.FieldType) || field.FieldType.IsArray && f.IsAssignableFrom(field.FieldType.GetElementType()))
            select $"{type.Name}.{field.Name}";
        Assert.Empty(offenders);
    }

    [Fact]
    public void EquatableArray_compares_elements_not_references()
    {
        var a = new EquatableArray<SpecializedK>([new(64, S("tiny")), new(96, S("tiny"))]);
        var b = new EquatableArray<SpecializedK>([new(64, S("tiny")), new(96, S("tiny"))]);

        Assert.True(a == b);
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a == new EquatableArray<SpecializedK>([new(96, S("tiny")), new(64, S("tiny"))]), "order matters");
        Assert.False(a == new EquatableArray<SpecializedK>([new(64, S("tiny"))]), "length matters");
        Assert.False(a == new EquatableArray<SpecializedK>([new(64, S("tiny")), new(96, S("small"))]), "each element matters");
        Assert.True(a != EquatableArray<SpecializedK>.Empty);
    }

    [Fact]
    public void A_default_EquatableArray_is_the_empty_one()
    {
        EquatableArray<int> @default = default, empty = EquatableArray<int>.Empty;

        Assert.True(@default == empty);
        Assert.Equal(empty.GetHashCode(), @default.GetHashCode());
        Assert.Equal(0, @default.Count);
        Assert.Empty(@default);
    }
}
