using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>
/// A primitive class with a second step, MulAddGemm (llama.cpp's repacked Q4_K product orders its float operations one
/// way for the first n - n % 4 tokens of a batch, its gemm, and another for the rest, its gemv): the matrix-matrix
/// kernels take it for the first cols - cols % 4 columns and MulAdd for the others; matrix-vector kernels never take it.
/// Also an interleaved class that accumulates in a type of its own and writes its rows with its Store.
/// </summary>
public class GemmStepTests
{
    private const string Path = "Quants/Q8_0.Portable.Simd.cs";
    private const string Kernels = "MatMulKernels.Q8_0xQ8_0_Portable.g.cs";
    private const string InterleavedKernels = "MatMulKernels.Q8_0xQ8_0_Portable_X4.g.cs";

    /// <summary>The two steps differ only in where the scale multiplies: the kernel text is the point.</summary>
    private const string Primitives = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants;

        [KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Portable, GemmColumns = 2)]
        internal static unsafe class Q8_0xQ8_0_Portable
        {
            public const int ValuesPerStep = BlockQ8_0.BlockSize;

            public static BlockQ8_0* LoadWeights(byte* w) => (BlockQ8_0*)w;

            public static BlockQ8_0* LoadActivations(byte* x) => (BlockQ8_0*)x;

            public static Vector128<float> MulAdd(BlockQ8_0* w, BlockQ8_0* x, Vector128<float> acc) =>
                acc + Vector128.CreateScalar(Dot(w, x) * w->D * x->D);

            public static Vector128<float> MulAddGemm(BlockQ8_0* w, BlockQ8_0* x, Vector128<float> acc) =>
                acc + Vector128.CreateScalar(Dot(w, x) * (w->D * x->D));

            private static float Dot(BlockQ8_0* w, BlockQ8_0* x)
            {
                int q = 0;
                for (int j = 0; j < BlockQ8_0.BlockSize; j++)
                    q += w->Qs[j] * x->Qs[j];
                return q;
            }
        }
        """;

    /// <summary>4 interleaved rows, a scale sum and an offset sum per row, written as their difference.</summary>
    private const string InterleavedPrimitives = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants;

        public readonly record struct TwoSums(Vector128<float> Scales, Vector128<float> Offsets)
        {
            public static TwoSums Zero => default;
        }

        [KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Portable, GemvUnroll = 1, GemmColumns = 4)]
        internal static unsafe class Q8_0xQ8_0_Portable_X4
        {
            public const int Rows = 4;
            public const int ValuesPerStep = BlockQ8_0.BlockSize;

            public static BlockQ8_0* LoadWeights(byte* w) => (BlockQ8_0*)w;

            public static BlockQ8_0* LoadActivations(byte* x) => (BlockQ8_0*)x;

            public static TwoSums MulAdd(BlockQ8_0* w, BlockQ8_0* x, TwoSums acc) =>
                new(acc.Scales + Vector128.Create(w->D * x->D), acc.Offsets + Vector128.Create(x->D));

            public static TwoSums MulAddGemm(BlockQ8_0* w, BlockQ8_0* x, TwoSums acc) =>
                new(acc.Scales + Vector128.Create(x->D * w->D), acc.Offsets + Vector128.Create(x->D));

            public static void Store(TwoSums acc, float* y, int count)
            {
                var v = acc.Scales - acc.Offsets;
                for (int i = 0; i < count; i++)
                    y[i] = v[i];
            }

            public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst)
            {
            }
        }
        """;

    private static Run RunWith(string path, string primitives) => GeneratorHarness.RunOnce(Fixture.Files.Append((path, primitives)));

    [Fact]
    public void Matrix_matrix_kernels_take_the_gemm_step_for_the_first_columns_in_fours_and_MulAdd_for_the_rest()
    {
        var run = RunWith(Path, Primitives);

        Assert.Empty(run.Diagnostics.Where(d => d.Id == "LLAOT002"));
        string text = run.Sources[Kernels];
        Assert.Contains("// Matrix-matrix: P.MulAddGemm for the first cols - cols % 4 columns, P.MulAdd for the others (llama.cpp's gemm / gemv split).", text);
        // Per gemm kernel (generic, K = 64, K = 96): tiles of 4 rows x 2 columns, then 1 row x 2 columns, up to
        // cols - cols % 4; every column after that through MulAdd (4 x 1, then 1 x 1).
        Assert.Equal(3 * 2, Count(text, "for (; c + 2 <= cols - cols % 4; c += 2)"));
        Assert.Equal(3 * (4 * 2 + 1 * 2), Count(text, "= P.MulAddGemm("));
        Assert.Equal(0, Count(text, "for (; c + 2 <= cols; c += 2)"));
        foreach (string gemv in Kernel(text, "Gemv_"))
            Assert.DoesNotContain("MulAddGemm", gemv);
        Assert.Empty(Problems(run));
    }

    [Fact]
    public void An_interleaved_class_with_its_own_accumulator_and_Store_gets_both_steps_and_compiles()
    {
        var run = RunWith("Quants/Q8_0.X4.cs", InterleavedPrimitives);

        Assert.Empty(run.Diagnostics.Where(d => d.Id == "LLAOT002"));
        string text = run.Sources[InterleavedKernels];
        Assert.Contains("var a0 = TA.Zero;", text);
        Assert.Contains("P.Store(a0, y + r, rows - r);", text);
        Assert.Contains("for (; c + 4 <= cols - cols % 4; c += 4)", text);
        Assert.DoesNotContain("Vector128<float>.Zero", text);
        Assert.Empty(Problems(run));
    }

    [Theory]
    [InlineData(Path, Primitives, "GemmColumns = 2", "GemmColumns = 3",
        "Q8_0xQ8_0_Portable: GemmColumns = 3 with MulAddGemm: llama.cpp's matrix-matrix tokens come in fours, so the columns of a tile must divide 4")]
    [InlineData("Quants/Q8_0.X4.cs", InterleavedPrimitives, "public static void Store(", "public static void Write(",
        "Q8_0xQ8_0_Portable_X4: an interleaved class (Rows = 4) with its own accumulator TwoSums declares no static Store(TwoSums, float*, int) to write its rows")]
    public void A_class_the_kernels_cannot_use_is_an_error_and_emits_no_kernel(string path, string primitives, string oldText, string newText, string message)
    {
        string edited = primitives.Replace(oldText, newText, StringComparison.Ordinal);
        Assert.NotEqual(primitives, edited);

        var run = RunWith(path, edited);

        var error = Assert.Single(run.Diagnostics, d => d.Id == "LLAOT002");
        Assert.Equal(message, error.GetMessage());
        Assert.DoesNotContain(path == Path ? Kernels : InterleavedKernels, run.Sources.Keys);
    }

    private static IEnumerable<string> Problems(Run run) => run.Output.GetDiagnostics()
        .Where(d => d.Severity == DiagnosticSeverity.Error || d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && GeneratorHarness.IsGenerated(tree))
        .Select(d => d.ToString());

    /// <summary>The text of each kernel whose name starts with <paramref name="prefix"/>, up to the next kernel.</summary>
    private static IEnumerable<string> Kernel(string text, string prefix)
    {
        var starts = text.Split("public static void ").Skip(1);
        return starts.Where(s => s.StartsWith(prefix, StringComparison.Ordinal));
    }

    private static int Count(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;
}
