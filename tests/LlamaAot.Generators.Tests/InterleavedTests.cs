using System.Text.RegularExpressions;
using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>
/// Primitive classes over weights repacked into groups of interleaved rows (<c>const int Rows</c> and a static
/// Repack): one whose accumulator lane i is row i of a group (stored by InterleavedStore.Rows), and one with its own
/// Store (rows of several lanes). Their kernel files against snapshots, and the header's claims against the code.
/// </summary>
public class InterleavedTests
{
    private const string Path = "Quants/F32.Interleaved.cs";
    private const string LaneRows = "MatMulKernels.F32xF32_Avx2_X8.g.cs";
    private const string OwnStore = "MatMulKernels.F32xF32_Avx512_X2.g.cs";

    /// <summary>Eight rows a group, one lane each; and row pairs, eight lanes each, summed by the class's Store.</summary>
    private const string Primitives = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Kernels
        {
            internal static unsafe class InterleavedStore
            {
                public static void Rows(Vector256<float> acc, float* y, int count)
                {
                    for (int i = 0; i < count && i < Vector256<float>.Count; i++)
                        y[i] = acc[i];
                }
            }
        }

        namespace LlamaAot.Quants
        {
            [KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx2, GemmColumns = 3)]
            internal static unsafe class F32xF32_Avx2_X8
            {
                public const int Rows = 8;
                public const int ValuesPerStep = 1;
                public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) { }
                public static Vector256<float> LoadWeights(byte* g) => Vector256.Load((float*)g);
                public static Vector256<float> LoadActivations(byte* x) => Vector256.Create(*(float*)x);
                public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
            }

            [KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx512, GemmColumns = 2)]
            internal static unsafe class F32xF32_Avx512_X2
            {
                public const int Rows = 2;
                public const int ValuesPerStep = 8;
                public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) { }
                public static Vector512<float> LoadWeights(byte* g) => Vector512.Load((float*)g);
                public static Vector512<float> LoadActivations(byte* x) => Vector512.Create(Vector256.Load((float*)x), Vector256.Load((float*)x));
                public static Vector512<float> MulAdd(Vector512<float> w, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(w, x, acc);

                public static void Store(Vector512<float> acc, float* y, int count)
                {
                    y[0] = Vector256.Sum(acc.GetLower());
                    if (count > 1)
                        y[1] = Vector256.Sum(acc.GetUpper());
                }
            }
        }
        """;

    private static Run RunWith(string primitives) => GeneratorHarness.RunOnce(Fixture.Files.Append((Path, primitives)));

    [Fact]
    public void Kernel_files_match_their_snapshots()
    {
        var run = RunWith(Primitives);

        Snapshot.Match(LaneRows, run.Sources[LaneRows]);
        Snapshot.Match(OwnStore, run.Sources[OwnStore]);
    }

    [Fact]
    public void Interleaved_kernels_compile_with_their_input_without_errors_or_warnings()
    {
        var run = RunWith(Primitives);

        Assert.DoesNotContain(run.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(run.CompileProblems());
    }

    [Fact]
    public void Groups_side_by_side_keep_one_accumulator_per_group_and_column_and_compile()
    {
        var run = RunWith(Primitives.Replace("KernelIsa.Avx512, GemmColumns = 2)", "KernelIsa.Avx512, GemvGroups = 2, GemmGroups = 3, GemmColumns = 2)"));
        string text = run.Sources[OwnStore];

        Assert.DoesNotContain(run.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(run.CompileProblems());
        // Matrix-vector: tiles of 2 groups (each activation step loaded once), then single groups.
        Assert.Contains("for (; r + 2 * P.Rows <= rows; r += 2 * P.Rows)", text);
        Assert.Contains("a1 = P.MulAdd(P.LoadWeights(g1 + e * groupStep), xs, a1);", text);
        Assert.Contains("P.Store(a1, y + r + 1 * P.Rows, rows - r - 1 * P.Rows);", text);
        Assert.Contains("WeightPrefetch.At(g1 + 2 * groupBytes + s * groupStep, run * groupStep);", text);
        // Matrix-matrix: 3 groups x 2 columns, one accumulator per row group and column, then single groups.
        Assert.Contains("&Gemm_F32xF32_Avx512_X2G3C2<K96>", text);
        Assert.Contains("for (; r + 3 * P.Rows <= rows; r += 3 * P.Rows)", text);
        Assert.Contains("a2_1 = P.MulAdd(w2s, x1s, a2_1);", text);
        Assert.Contains("P.Store(a2_1, y + (c + 1) * yStride + r + 2 * P.Rows, rows - r - 2 * P.Rows);", text);
        Assert.Contains("&Gemv_F32xF32_Avx512_X2G2<K96>", text);
    }

    /// <summary>Row pairs whose step carries one scale per row, widened once per matrix-matrix call.</summary>
    private const string WidenedScales = """
                public const int ScalesPerStep = 2;
                public static Vector512<float> LoadWeights(byte* g, float* scales) => Vector512.Load((float*)g) * Vector512.Create(Vector256.Create(scales[0]), Vector256.Create(scales[1]));
                public static void WidenScales(byte* g, int steps, float* scales) { }
                public static Vector512<float> LoadActivations(byte* x)
        """;

    [Fact]
    public void A_class_that_widens_its_scales_has_them_widened_once_per_group_and_call_and_loaded_by_every_tile()
    {
        var run = RunWith(Primitives.Replace("KernelIsa.Avx512, GemmColumns = 2)", "KernelIsa.Avx512, GemmGroups = 2, GemmColumns = 2)")
            .Replace("""
                public static Vector512<float> LoadActivations(byte* x)
        """, WidenedScales));
        string text = run.Sources[OwnStore];

        Assert.DoesNotContain(run.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Empty(run.CompileProblems());
        // One buffer for the call, room for a tile's groups; each group widens its scales before its tiles of columns.
        Assert.Single(Regex.Matches(text, @"KernelScratch\.Floats"));
        string[] lines =
        [
            "float* scales = KernelScratch.Floats(2 * steps * P.ScalesPerStep);",
            "float* sc1 = sc0 + steps * P.ScalesPerStep;",
            "P.WidenScales(g1, steps, sc1);",
            "var w1s = P.LoadWeights(g1 + s * groupStep, sc1 + s * P.ScalesPerStep);",
            "var ws = P.LoadWeights(g0 + s * groupStep, sc0 + s * P.ScalesPerStep);",
            // The matrix-vector kernel meets each step once: it loads the scales as stored.
            "P.LoadWeights(g0 + e * groupStep)",
        ];
        Assert.All(lines, line => Assert.Contains(line, text));
    }

    [Fact]
    public void A_class_that_declares_WidenScales_without_its_count_or_its_load_is_an_error()
    {
        var run = RunWith(Primitives.Replace("""
                public static Vector512<float> LoadActivations(byte* x)
        """, """
                public static void WidenScales(byte* g, int steps, float* scales) { }
                public static Vector512<float> LoadActivations(byte* x)
        """));

        var errors = run.Diagnostics.Where(d => d.Id == "LLAOT002").Select(d => d.GetMessage()).ToArray();
        Assert.Contains(errors, m => m.Contains("declares WidenScales but no positive 'const int ScalesPerStep'"));
        Assert.Contains(errors, m => m.Contains("declares WidenScales but no static LoadWeights(byte* g, float* scales)"));
    }

    [Fact]
    public void A_header_says_lane_i_is_row_i_only_where_the_rows_are_stored_lane_by_lane()
    {
        var run = RunWith(Primitives);
        string laneRows = run.Sources[LaneRows], ownStore = run.Sources[OwnStore];

        Assert.Contains("// Weights repacked at load (P.Repack) into groups of 8 interleaved rows: accumulator lane i is row i of a", laneRows);
        Assert.Contains("InterleavedStore.Rows(a0, y + r, rows - r);", laneRows);
        Assert.DoesNotContain("P.Store(", laneRows);

        Assert.DoesNotContain("lane i is row i", ownStore);
        Assert.Contains("// Weights repacked at load (P.Repack) into groups of 2 interleaved rows: the class's own P.Store writes a", ownStore);
        Assert.Contains("P.Store(a0, y + r, rows - r);", ownStore);
        Assert.DoesNotContain("InterleavedStore.Rows(", ownStore);
    }

    [Fact]
    public void Every_instantiation_of_an_interleaved_pair_carries_its_layout_in_the_registry_entry()
    {
        var run = RunWith(Primitives);
        string[] entries = run.Sources[OwnStore].Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("new(", StringComparison.Ordinal)).ToArray();

        // RunTimeK, and K = 64 and 96 (multiples of the step); K = 100 is not, so the generic pair serves it.
        Assert.Equal(3, entries.Length);
        Assert.All(entries, e => Assert.EndsWith(" { Rows = P.Rows, Repack = &P.Repack },", e));
        Assert.Contains("&Gemm_F32xF32_Avx512_X2C2<K96>", entries[2]);
    }
}
