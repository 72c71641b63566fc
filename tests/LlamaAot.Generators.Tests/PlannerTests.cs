using LlamaAot.Generators.Emitters;
using LlamaAot.Generators.Model;
using Microsoft.CodeAnalysis.Text;

namespace LlamaAot.Generators.Tests;

/// <summary>The planner as a pure function: which K values get specialized kernels, and why the others do not.</summary>
public class PlannerTests
{
    internal static PrimitiveSpec Spec(
        string weights = "Q4_0", int weightBlock = 32, string activations = "Q8_0", string isa = "Avx512", int step = 64, TileSpec? tiles = null) => new(
        $"{weights}x{activations}_{isa}", $"global::LlamaAot.Quants.{weights}x{activations}_{isa}",
        weights, $"global::LlamaAot.Quants.Block{weights}", weightBlock,
        activations, $"global::LlamaAot.Quants.Block{activations}", 32,
        isa, step, tiles ?? new TileSpec(4, 4, 2));

    private static LocationInfo At(int line) => new("ModelShapes.cs", new TextSpan(line * 40, 30), new LinePositionSpan(new(line, 1), new(line, 31)));

    private static EquatableArray<ShapeSpec> Shapes(params ShapeSpec[] shapes) => new(shapes);

    private static ShapeSpec Shape(string family, int nEmbd, int nFf, LocationInfo? at = null) => new(family, nEmbd, nFf, at);

    [Fact]
    public void K_values_that_are_multiples_of_the_step_are_specialized_in_ascending_order()
    {
        var result = Planner.Plan(Spec(step: 64), Shapes(Shape("big", 4096, 11008 + 64 * 2), Shape("small", 128, 256)));

        Assert.Equal([new SpecializedK(128, "small"), new SpecializedK(256, "small"), new SpecializedK(4096, "big"), new SpecializedK(11136, "big")], result.Plan.Specialized);
        Assert.Empty(result.Fallbacks);
    }

    [Fact]
    public void A_K_that_is_a_multiple_of_the_block_but_not_of_the_step_falls_back_with_one_diagnostic_saying_why()
    {
        var result = Planner.Plan(Spec(step: 64), Shapes(Shape("odd", 128, 96, At(3))));

        Assert.Equal([new SpecializedK(128, "odd")], result.Plan.Specialized);
        var fallback = Assert.Single(result.Fallbacks);
        Assert.Equal(Planner.FallbackId, fallback.Id);
        Assert.Equal("LLAOT001", fallback.Id);
        Assert.Equal("K = 96 (odd) is not a multiple of the Avx512 step (64 values): Q4_0xQ8_0_Avx512 serves it with its generic kernel", fallback.Message);
        Assert.Equal(At(3), fallback.Location);
    }

    [Fact]
    public void A_K_that_is_not_a_multiple_of_the_block_falls_back_naming_the_block()
    {
        var result = Planner.Plan(Spec(weights: "Q8_0", step: 32), Shapes(Shape("stories260K", 64, 172, At(7))));

        Assert.Equal([new SpecializedK(64, "stories260K")], result.Plan.Specialized);
        var fallback = Assert.Single(result.Fallbacks);
        Assert.Equal("K = 172 (stories260K) is not a multiple of the Q8_0 block (32 values): Q8_0xQ8_0_Avx512 serves it with its generic kernel", fallback.Message);
        Assert.Equal(At(7), fallback.Location);
    }

    [Fact]
    public void A_K_shared_by_several_families_is_specialized_once_and_falls_back_once()
    {
        var result = Planner.Plan(Spec(step: 64), Shapes(Shape("a", 4096, 100, At(1)), Shape("b", 4096, 100, At(2)), Shape("c", 512, 4096, At(3))));

        Assert.Equal([new SpecializedK(512, "c"), new SpecializedK(4096, "a, b, c")], result.Plan.Specialized);
        var fallback = Assert.Single(result.Fallbacks);
        Assert.StartsWith("K = 100 (a, b) is not a multiple of the Q4_0 block", fallback.Message);
        Assert.Equal(At(1), fallback.Location);
    }

    [Fact]
    public void Without_shapes_only_the_generic_kernels_are_planned()
    {
        var result = Planner.Plan(Spec(), EquatableArray<ShapeSpec>.Empty);

        Assert.Empty(result.Plan.Specialized);
        Assert.Empty(result.Fallbacks);
    }

    [Fact]
    public void The_plan_is_a_value_the_pipeline_can_cache()
    {
        var shapes = Shapes(Shape("a", 4096, 100, At(1)), Shape("b", 256, 768, At(2)));

        Assert.Equal(Planner.Plan(Spec(), shapes), Planner.Plan(Spec(), Shapes([.. shapes])));
        Assert.NotEqual(Planner.Plan(Spec(), shapes), Planner.Plan(Spec(step: 128), shapes));
    }
}
