using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>
/// A primitive class over weights repacked into groups of stepped rows (<c>const int SteppedRows</c> and a static
/// Repack): the rows of a group take turns per step, and each row keeps its own accumulator, as in the file's layout.
/// Its kernel file against a snapshot, the addressing against the layout, and the parser's checks.
/// </summary>
public class SteppedRowsTests
{
    private const string Path = "Quants/F32.Stepped.cs";
    private const string Kernels = "MatMulKernels.F32xF32_Avx2_X4.g.cs";

    private const string Primitives = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants
        {
            [KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx2, GemmRows = 4, GemmColumns = 3)]
            internal static unsafe class F32xF32_Avx2_X4
            {
                public const int SteppedRows = 4;
                public const int ValuesPerStep = 8;
                public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) { }
                public static Vector256<float> LoadWeights(byte* w) => Vector256.Load((float*)w);
                public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
                public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
            }
        }
        """;

    private static Run RunWith(string primitives) => GeneratorHarness.RunOnce(Fixture.Files.Append((Path, primitives)));

    [Fact]
    public void The_kernel_file_matches_its_snapshot_and_compiles_without_errors_or_warnings()
    {
        var run = RunWith(Primitives);

        Snapshot.Match(Kernels, run.Sources[Kernels]);
        Assert.DoesNotContain(run.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(run.CompileProblems());
    }

    [Fact]
    public void A_tile_finds_its_rows_in_their_group_and_steps_over_the_groups_other_rows()
    {
        string text = RunWith(Primitives).Sources[Kernels];

        string[] lines =
        [
            "nint wStride = P.SteppedRows * wStep;",
            // One pointer per tile: row r's group, then its turn; the tile's other rows a fixed offset on.
            "byte* w0 = w + (nint)(r / P.SteppedRows) * P.SteppedRows * rowBytes + r % P.SteppedRows * wStep;",
            "var w0s = P.LoadWeights(w0 + s * wStride);",
            "var w3s = P.LoadWeights(w0 + s * wStride + 3 * wStep);",
            "a3 = P.MulAdd(P.LoadWeights(w0 + e * wStride + 3 * wStep), xs, a3);",
            // The group is one stream to the matrix-vector kernel.
            "WeightPrefetch.Ahead(w0 + s * wStride, wStride);",
            // Each row its own accumulator, reduced once.
            "y[(c + 2) * yStride + r + 3] = Vector256.Sum(a3_2);",
        ];
        Assert.All(lines, line => Assert.Contains(line, text));
        Assert.DoesNotContain("byte* w1 =", text);
        // K is a multiple of the step (the registry offers repacked kernels only then): no scalar tail.
        Assert.DoesNotContain("if (tail != 0)", text);
        Assert.Contains("// Weights repacked at load (P.Repack) into groups of 4 rows that take turns per step", text);
    }

    [Fact]
    public void Every_instantiation_carries_its_groups_in_the_registry_entry()
    {
        string[] entries = RunWith(Primitives).Sources[Kernels].Split('\n').Select(l => l.Trim())
            .Where(l => l.StartsWith("new(", StringComparison.Ordinal)).ToArray();

        Assert.Equal(3, entries.Length);
        Assert.All(entries, e => Assert.EndsWith(" { Rows = P.SteppedRows, Repack = &P.Repack },", e));
        Assert.Contains("&Gemm_F32xF32_Avx2_X4_R4C3<K96>", entries[2]);
    }

    [Theory]
    [InlineData("GemmRows = 4, GemmColumns = 3", "GemmRows = 3, GemmColumns = 3",
        "SteppedRows = 4 must be a multiple of GemvRows (4) and GemmRows (3) and divide the row block (32)")]
    [InlineData("public const int SteppedRows = 4;", "public const int SteppedRows = 64;",
        "SteppedRows = 64 must be a multiple of GemvRows (4) and GemmRows (4) and divide the row block (32)")]
    [InlineData("public const int SteppedRows = 4;", "public const int SteppedRows = 4; public const int Rows = 4;",
        "declares both Rows (lanes are rows) and SteppedRows (each row its own accumulator)")]
    [InlineData("public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) { }", "",
        "declares no static Repack method")]
    public void A_layout_the_kernels_cannot_step_is_an_error(string what, string instead, string error)
    {
        var run = RunWith(Primitives.Replace(what, instead));

        var errors = run.Diagnostics.Where(d => d.Id == "LLAOT002").Select(d => d.GetMessage()).ToArray();
        Assert.Contains(errors, m => m.Contains(error));
        Assert.DoesNotContain(Kernels, run.Sources.Keys);
    }
}
