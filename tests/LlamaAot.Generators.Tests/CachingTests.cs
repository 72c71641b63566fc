using LlamaAot.Generators.Model;
using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>
/// Incremental caching, read from the driver's tracked steps: an edit that changes no spec re-emits nothing, and an
/// edit to one spec re-emits only what depends on it.
/// </summary>
public class CachingTests
{
    private const string F32Avx2Kernels = "MatMulKernels.F32xF32_Avx2.g.cs";
    private const string F32Avx512Kernels = "MatMulKernels.F32xF32_Avx512.g.cs";
    private const string Q8Kernels = "MatMulKernels.Q8_0xQ8_0_Avx2.g.cs";
    private const string Registry = "KernelRegistry.g.cs";
    private const string Dimensions = "InnerDimensions.g.cs";

    /// <summary>Runs the generator over the fixture, then again over <paramref name="edit"/> of it; returns both runs.</summary>
    private static (Run First, GeneratorRunResult Second, IReadOnlyDictionary<string, string> SecondSources) RunTwice(Func<Compilation, Compilation> edit)
    {
        var compilation = GeneratorHarness.Compilation(Fixture.Files);
        var first = new Run(GeneratorHarness.CreateDriver().RunGenerators(compilation), compilation, []);
        var second = first.Driver.RunGenerators(edit(compilation)).GetRunResult().Results.Single();
        return (first, second, second.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString()));
    }

    private static Compilation Replace(Compilation compilation, string path, string text) =>
        compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(t => t.FilePath == path), GeneratorHarness.Parse(path, text));

    private static Compilation Add(Compilation compilation, string path, string text) =>
        compilation.AddSyntaxTrees(GeneratorHarness.Parse(path, text));

    [Fact]
    public void An_unrelated_edit_leaves_every_step_cached_and_emits_nothing()
    {
        var (first, second, sources) = RunTwice(c => Add(
            Replace(c, Fixture.BlocksPath, Fixture.Blocks + "\ninternal static class Unrelated { public const int BlockSize = 7; }\n"),
            "Unrelated.cs", "namespace Other;\n[System.Obsolete] internal sealed class Helper { public int ValuesPerStep; }\n"));

        foreach (string step in Steps.TrackingNames)
        {
            var outputs = second.Outputs(step);
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {o.Reason}\n{second.Describe()}"));
        }
        Assert.Empty(second.RegeneratedSources());
        Assert.Equal(first.Sources, sources);
    }

    [Fact]
    public void Changing_one_primitive_tile_regenerates_its_kernel_file_and_the_registry_only()
    {
        var (first, second, sources) = RunTwice(c => Replace(c, Fixture.F32SimdPath, Fixture.F32Simd.Replace(
            "KernelIsa.Avx2)]", "KernelIsa.Avx2, GemvRows = 2)]", StringComparison.Ordinal)));

        var plans = second.Outputs(KernelGenerator.TrackingNames.Plans);
        var modified = Assert.Single(plans, o => Steps.IsRerun(o.Reason));
        Assert.Equal(IncrementalStepRunReason.Modified, modified.Reason);
        Assert.Equal("F32xF32_Avx2", PlanOf(modified.Value).Spec.ClassName);
        Assert.Equal(2, PlanOf(modified.Value).Spec.Tiles.GemvRows);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(second.Outputs(KernelGenerator.TrackingNames.Kernels), o => Steps.IsRerun(o.Reason)).Reason);
        Assert.Equal([Registry, F32Avx2Kernels], second.RegeneratedSources());
        Assert.Contains("Gemv_F32xF32_Avx2_R2<TK>(", sources[F32Avx2Kernels]);
        Assert.Equal(first.Sources[F32Avx512Kernels], sources[F32Avx512Kernels]);
        Assert.Equal(first.Sources[Q8Kernels], sources[Q8Kernels]);
    }

    [Fact]
    public void Changing_one_primitive_step_regenerates_only_its_kernel_file_and_the_registry()
    {
        var (_, second, _) = RunTwice(c => Replace(c, Fixture.Q8SimdPath, Fixture.Q8Simd.Replace(
            "public const int ValuesPerStep = BlockQ8_0.BlockSize;", "public const int ValuesPerStep = 2 * BlockQ8_0.BlockSize;", StringComparison.Ordinal)));

        var primitives = second.Outputs(KernelGenerator.TrackingNames.Primitives);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(primitives, o => Steps.IsRerun(o.Reason)).Reason);
        Assert.Equal([Registry, Q8Kernels], second.RegeneratedSources());
    }

    [Fact]
    public void Changing_a_block_size_in_another_file_regenerates_the_kernels_of_that_block_only()
    {
        var (_, second, sources) = RunTwice(c => Replace(c, Fixture.BlocksPath, Fixture.Blocks.Replace(
            "public const int BlockSize = 32;", "public const int BlockSize = 16;", StringComparison.Ordinal)));

        Assert.Equal([Registry, Q8Kernels], second.RegeneratedSources());
        Assert.Contains("// One step = 16 values = 1 BlockQ8_0 block(s).", sources[Q8Kernels]);
    }

    [Fact]
    public void Adding_a_model_shape_replans_and_regenerates_every_kernel_file_and_the_types_that_carry_K()
    {
        var (_, second, sources) = RunTwice(c => Add(c, "MoreShapes.cs",
            "namespace LlamaAot.Kernels;\n[ModelShape(\"extra\", 128, 256)]\ninternal static class MoreShapes;\n"));

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(second.Outputs(KernelGenerator.TrackingNames.Shapes)).Reason);
        var plans = second.Outputs(KernelGenerator.TrackingNames.Plans);
        Assert.Equal(3, plans.Length);
        Assert.All(plans, o => Assert.Equal(IncrementalStepRunReason.Modified, o.Reason));
        Assert.Equal([Dimensions, Registry, F32Avx2Kernels, F32Avx512Kernels, Q8Kernels], second.RegeneratedSources());
        Assert.Contains("&Gemv_Q8_0xQ8_0_Avx2_R2<K256>", sources[Q8Kernels]);
        Assert.Contains("internal readonly struct K256 : IInnerDimension", sources[Dimensions]);
    }

    [Fact]
    public void Moving_the_model_shapes_down_a_line_moves_the_diagnostics_but_re_emits_no_kernel()
    {
        var (_, second, _) = RunTwice(c => Replace(c, Fixture.ShapesPath, "// The shapes of the fixture.\n" + Fixture.Shapes));

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(second.Outputs(KernelGenerator.TrackingNames.Shapes)).Reason);
        Assert.All(second.Outputs(KernelGenerator.TrackingNames.Kernels), o => Assert.Equal(IncrementalStepRunReason.Unchanged, o.Reason));
        Assert.Empty(second.RegeneratedSources());
        var lines = second.Diagnostics.Where(d => d.Id == "LLAOT001").Select(d => d.Location.GetLineSpan().StartLinePosition.Line).Distinct();
        Assert.Equal([4], lines);
    }

    [Fact]
    public void No_tracked_step_output_holds_a_symbol_syntax_node_compilation_or_location()
    {
        var (_, second, _) = RunTwice(c => Replace(c, Fixture.F32SimdPath, Fixture.F32Simd.Replace(
            "KernelIsa.Avx2)]", "KernelIsa.Avx2, GemmColumns = 3)]", StringComparison.Ordinal)));
        var first = GeneratorHarness.RunOnce(Fixture.With(Fixture.Q8SimdPath, Fixture.Q8Simd.Replace("MulAdd", "Fma", StringComparison.Ordinal)));

        foreach (var result in new[] { second, first.Result })
        {
            foreach (string step in Steps.TrackingNames)
            {
                foreach (var (value, _) in result.Outputs(step))
                    Assert.Null(RoslynObjects.FindIn(value));
            }
        }
    }

    [Fact]
    public void The_Roslyn_object_search_finds_one_nested_in_a_value()
    {
        var holder = new { Name = "x", Items = new object[] { 1, new Tuple<string, object>("y", Location.None) } };

        Assert.Equal("value.<Items>i__Field[1].m_Item2 (NoLocation)", RoslynObjects.FindIn(holder));
        Assert.Null(RoslynObjects.FindIn(new EquatableArray<SpecializedK>([new(64, "tiny")])));
    }

    private static KernelPlan PlanOf(object value) => ((PlanResult)value).Plan;
}
