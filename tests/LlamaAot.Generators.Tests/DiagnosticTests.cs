using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>LLAOT002 for a primitive class that breaks the contract; LLAOT001 for a shape that is not specialized.</summary>
public class DiagnosticTests
{
    /// <summary>Runs the generator over the fixture with the Q8_0 primitives file edited.</summary>
    private static Run WithQ8Primitives(string oldText, string newText)
    {
        string edited = Fixture.Q8Simd.Replace(oldText, newText, StringComparison.Ordinal);
        Assert.NotEqual(Fixture.Q8Simd, edited);
        return GeneratorHarness.RunOnce(Fixture.With(Fixture.Q8SimdPath, edited));
    }

    /// <summary>The single LLAOT002 error, checked to point at the class name in the primitives file.</summary>
    private static Diagnostic SingleContractError(Run run)
    {
        Assert.Null(run.Result.Exception);
        var error = Assert.Single(run.Diagnostics, d => d.Id == "LLAOT002");
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        var span = error.Location.GetLineSpan();
        Assert.Equal(Fixture.Q8SimdPath, span.Path);
        string line = Fixture.Q8Simd.Split('\n')[span.StartLinePosition.Line];
        Assert.Equal("Q8_0xQ8_0_Avx2", line.Substring(span.StartLinePosition.Character, span.EndLinePosition.Character - span.StartLinePosition.Character));
        return error;
    }

    [Fact]
    public void A_primitive_class_without_ValuesPerStep_is_an_error_at_the_class()
    {
        var run = WithQ8Primitives("public const int ValuesPerStep = BlockQ8_0.BlockSize;", "");

        var error = SingleContractError(run);
        Assert.Equal("Q8_0xQ8_0_Avx2: declares no 'const int ValuesPerStep'", error.GetMessage());
        Assert.DoesNotContain("MatMulKernels.Q8_0xQ8_0_Avx2.g.cs", run.Sources.Keys);
        Assert.DoesNotContain("Q8_0xQ8_0_Avx2", run.Sources["KernelRegistry.g.cs"]);
    }

    [Theory]
    [InlineData("LoadWeights")]
    [InlineData("LoadActivations")]
    [InlineData("MulAdd")]
    public void A_primitive_class_missing_a_primitive_method_is_an_error_naming_it(string method)
    {
        var run = WithQ8Primitives($"public static {(method == "MulAdd" ? "Vector256<float>" : "Block")} {method}(", $"public static {(method == "MulAdd" ? "Vector256<float>" : "Block")} {method}Renamed(");

        Assert.Equal($"Q8_0xQ8_0_Avx2: declares no static {method} method", SingleContractError(run).GetMessage());
    }

    [Fact]
    public void A_step_that_is_not_a_multiple_of_the_block_is_an_error()
    {
        var run = WithQ8Primitives("public const int ValuesPerStep = BlockQ8_0.BlockSize;", "public const int ValuesPerStep = 48;");

        Assert.Equal("Q8_0xQ8_0_Avx2: ValuesPerStep = 48 is not a multiple of the block sizes", SingleContractError(run).GetMessage());
    }

    [Theory]
    [InlineData("GemvRows = 2", "GemvRows = 0")]
    [InlineData("GemvRows = 2", "GemvRows = -1")]
    [InlineData("GemmRows = 2", "GemmRows = 0")]
    [InlineData("GemmColumns = 1", "GemmColumns = 0")]
    public void A_tile_dimension_below_one_is_an_error_not_a_generator_crash(string oldArgument, string newArgument)
    {
        // A zero row or column count emitted a tile loop that never advances.
        var run = WithQ8Primitives(oldArgument, newArgument);

        string setting = newArgument.Split(", ")[^1];
        Assert.Equal($"Q8_0xQ8_0_Avx2: {setting} must be at least 1", SingleContractError(run).GetMessage());
    }

    [Fact]
    public void A_step_of_zero_values_is_an_error_not_a_generator_crash()
    {
        var run = WithQ8Primitives("public const int ValuesPerStep = BlockQ8_0.BlockSize;", "public const int ValuesPerStep = 0;");

        Assert.Equal("Q8_0xQ8_0_Avx2: ValuesPerStep = 0 must be at least 1", SingleContractError(run).GetMessage());
    }

    [Fact]
    public void A_block_size_of_zero_is_an_error_not_a_generator_crash()
    {
        var run = GeneratorHarness.RunOnce(Fixture.With(Fixture.Q8SimdPath, Fixture.Q8Simd.Replace("BlockQ8_0.BlockSize;", "32;", StringComparison.Ordinal))
            .Select(f => f.Path == Fixture.BlocksPath ? (f.Path, f.Text.Replace("public const int BlockSize = 32;", "public const int BlockSize = 0;", StringComparison.Ordinal)) : f));

        Assert.Equal("Q8_0xQ8_0_Avx2: BlockQ8_0.BlockSize = 0 must be at least 1", SingleContractError(run).GetMessage());
    }

    [Fact]
    public void A_weight_block_without_QuantFormat_is_an_error()
    {
        var run = GeneratorHarness.RunOnce(Fixture.With(Fixture.BlocksPath, Fixture.Blocks.Replace("[QuantFormat(GgmlType.Q8_0)]", "", StringComparison.Ordinal)));

        Assert.Equal("Q8_0xQ8_0_Avx2: BlockQ8_0 has no [QuantFormat] attribute", SingleContractError(run).GetMessage());
    }

    [Fact]
    public void A_shape_whose_K_is_not_a_multiple_of_the_block_is_reported_once_per_primitive_as_info_at_the_shape()
    {
        var run = GeneratorHarness.RunOnce(Fixture.Files);

        var fallbacks = run.Diagnostics.Where(d => d.Id == "LLAOT001").ToArray();
        Assert.All(fallbacks, d => Assert.Equal(DiagnosticSeverity.Info, d.Severity));
        Assert.All(fallbacks, d => Assert.Equal("[ModelShape(\"odd\", 64, 100)]", AttributeAt(d)));
        Assert.Equal(
            ["K = 100 (odd) is not a multiple of the Avx2 step (8 values): F32xF32_Avx2 serves it with its generic kernel",
             "K = 100 (odd) is not a multiple of the Avx512 step (16 values): F32xF32_Avx512 serves it with its generic kernel",
             "K = 100 (odd) is not a multiple of the Q8_0 block (32 values): Q8_0xQ8_0_Avx2 serves it with its generic kernel"],
            fallbacks.Select(d => d.GetMessage()).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(run.Diagnostics, d => d.Id != "LLAOT001");
    }

    /// <summary>The source text a diagnostic points at, with the attribute's brackets.</summary>
    private static string AttributeAt(Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        Assert.Equal(Fixture.ShapesPath, span.Path);
        string line = Fixture.Shapes.Split('\n')[span.StartLinePosition.Line];
        return line.Substring(span.StartLinePosition.Character - 1, span.EndLinePosition.Character - span.StartLinePosition.Character + 2);
    }
}
