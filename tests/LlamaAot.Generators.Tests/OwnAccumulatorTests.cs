using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>
/// A primitive class whose MulAdd accumulates in a type of its own (llama.cpp's AVX2 kernels keep a float sum beside
/// their 8 lanes): the kernels start each dot product at that type's Zero and reduce it with its Sum.
/// </summary>
public class OwnAccumulatorTests
{
    private const string Path = "Quants/Q8_0.Portable.Simd.cs";
    private const string Kernels = "MatMulKernels.Q8_0xQ8_0_Portable.g.cs";

    /// <summary>Lanes of block sums and the scales summed apart: the numbers are not the point, the kernel text is.</summary>
    private const string Primitives = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants;

        public readonly record struct LanesAndSum(Vector128<float> Lanes, float Summs)
        {
            public static LanesAndSum Zero => default;

            public static float Sum(LanesAndSum acc) => Vector128.Sum(acc.Lanes) + acc.Summs;
        }

        [KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Portable, GemmColumns = 3)]
        internal static unsafe class Q8_0xQ8_0_Portable
        {
            public const int ValuesPerStep = BlockQ8_0.BlockSize;

            public static BlockQ8_0* LoadWeights(byte* w) => (BlockQ8_0*)w;

            public static BlockQ8_0* LoadActivations(byte* x) => (BlockQ8_0*)x;

            public static LanesAndSum MulAdd(BlockQ8_0* w, BlockQ8_0* x, LanesAndSum acc)
            {
                int q = 0;
                for (int j = 0; j < BlockQ8_0.BlockSize; j++)
                    q += w->Qs[j] * x->Qs[j];
                return new(acc.Lanes + Vector128.CreateScalar((float)q), acc.Summs + w->D * x->D);
            }
        }
        """;

    private static Run RunWith(string primitives) => GeneratorHarness.RunOnce(Fixture.Files.Append((Path, primitives)));

    [Fact]
    public void Each_dot_product_starts_at_the_accumulators_Zero_and_ends_with_its_Sum()
    {
        var run = RunWith(Primitives);

        Assert.Empty(run.Diagnostics.Where(d => d.Id == "LLAOT002"));
        string text = run.Sources[Kernels];
        Snapshot.Match(Kernels, text);
        Assert.Contains("// (LanesAndSum accumulators, from its Zero, reduced by its Sum), picked by KernelRegistry when the process runs that path.", text);
        Assert.Contains("using TA = global::LlamaAot.Quants.LanesAndSum;", text);
        Assert.DoesNotContain("Vector128<float>.Zero", text);
        Assert.DoesNotContain("Vector128.Sum", text);
        // One kernel pair, generic over K: gemv tiles of 4 rows and 1 left-over row; gemm tiles of 4 x 3, then 4 x 2
        // and 4 x 1 for left-over columns, and the same widths for the left-over row, whose accumulators start at Zero
        // in the first K block and resume where they were parked in the next ones. Every accumulator made is reduced once.
        int gemv = 4 + 1, gemm = 4 * (3 + 2 + 1) + 1 * (3 + 2 + 1);
        Assert.Equal(gemv + gemm, Count(text, " = TA.Zero;"));
        Assert.Equal(gemm, Count(text, " = p["));
        Assert.Equal(gemv + gemm, Count(text, " = TA.Sum(a"));
    }

    [Fact]
    public void The_kernels_of_an_own_accumulator_compile_with_their_input_without_errors_or_warnings()
    {
        var run = RunWith(Primitives);

        Assert.Empty(run.CompileProblems());
    }

    [Theory]
    [InlineData("public static LanesAndSum Zero => default;", "",
        "Q8_0xQ8_0_Portable: MulAdd's accumulator LanesAndSum declares no static Zero")]
    [InlineData("public static float Sum(", "public static float Total(",
        "Q8_0xQ8_0_Portable: MulAdd's accumulator LanesAndSum declares no static Sum(LanesAndSum)")]
    public void An_own_accumulator_the_kernels_cannot_use_is_an_error_and_emits_no_kernel(string oldText, string newText, string message)
    {
        string edited = Primitives.Replace(oldText, newText, StringComparison.Ordinal);
        Assert.NotEqual(Primitives, edited);

        var run = RunWith(edited);

        var error = Assert.Single(run.Diagnostics, d => d.Id == "LLAOT002");
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.Equal(message, error.GetMessage());
        Assert.Equal(Path, error.Location.GetLineSpan().Path);
        Assert.DoesNotContain(Kernels, run.Sources.Keys);
    }

    /// <summary>A float vector narrower than the path's, reduced by the class's own Sum (ggml's hsum order, say).</summary>
    private const string VectorWithOwnSum = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants;

        [KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx512, GemmRows = 4, GemmColumns = 3)]
        internal static unsafe class F32xF32_Avx512
        {
            public const int ValuesPerStep = 8;
            public static Vector256<float> LoadWeights(byte* w) => Vector256.Load((float*)w);
            public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
            public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
            public static float Sum(Vector256<float> acc) => (acc.GetLower() + acc.GetUpper()).ToScalar();
        }
        """;

    [Fact]
    public void A_float_vector_with_the_classs_own_Sum_keeps_its_width_and_is_reduced_by_that_Sum()
    {
        var run = GeneratorHarness.RunOnce(Fixture.With(Fixture.F32SimdPath, VectorWithOwnSum));

        Assert.Empty(run.CompileProblems());
        string text = run.Sources["MatMulKernels.F32xF32_Avx512.g.cs"];
        Assert.Contains("// (Vector256<float> accumulators, reduced by P.Sum), picked by KernelRegistry when the process runs that path.", text);
        Assert.DoesNotContain("Vector512<float>", text);
        Assert.DoesNotContain("Vector256.Sum", text);
        int gemv = 4 + 1, gemm = 4 * (3 + 2 + 1) + 1 * (3 + 2 + 1);
        Assert.Equal(gemv + gemm, Count(text, " = P.Sum(a"));
    }

    private static int Count(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;
}
