using System.Text.RegularExpressions;
using LlamaAot.Generators.Emitters;
using LlamaAot.Generators.Model;

namespace LlamaAot.Generators.Tests;

/// <summary>The emitters as pure functions from plans to text: names follow the recipe, and output is reproducible.</summary>
public partial class EmitterTests
{
    private static KernelPlan Plan(PrimitiveSpec spec, params int[] ks) =>
        new(spec, new EquatableArray<SpecializedK>(ks.Select(k => new SpecializedK(k, "family")).ToArray()), EquatableArray<string>.Empty);

    [Theory]
    [InlineData("Q4_0", "Q8_0", "Avx512", 4, null, "Gemv_Q4_0xQ8_0_Avx512_R4<RunTimeK>")]
    [InlineData("Q4_0", "Q8_0", "Avx512", 4, 4096, "Gemv_Q4_0xQ8_0_Avx512_R4<K4096>")]
    [InlineData("F16", "F16", "Avx2", 8, 11008, "Gemv_F16xF16_Avx2_R8<K11008>")]
    [InlineData("F32", "F32", "Portable", 1, 64, "Gemv_F32xF32_Portable_R1<K64>")]
    public void Matrix_vector_kernels_are_named_Gemv_W_x_A_Isa_R_rows_and_instantiated_on_K(string weights, string activations, string isa, int rows, int? k, string expected)
    {
        var spec = PlannerTests.Spec(weights, activations: activations, isa: isa, tiles: new TileSpec(rows, 4, 2));

        Assert.Equal(expected, KernelEmitter.Instance(KernelEmitter.GemvName(spec), k));
    }

    [Fact]
    public void Matrix_matrix_kernels_name_their_tile_of_rows_and_columns()
    {
        var spec = PlannerTests.Spec(tiles: new TileSpec(4, 6, 3));

        Assert.Equal("Gemm_Q4_0xQ8_0_Avx512_R6C3", KernelEmitter.GemmName(spec));
        Assert.Equal("Gemm_Q4_0xQ8_0_Avx512_R6C3<K4096>", KernelEmitter.Instance(KernelEmitter.GemmName(spec), 4096));
        Assert.Equal("MatMulKernels.Q4_0xQ8_0_Avx512.g.cs", KernelEmitter.FileName(spec));
    }

    [GeneratedRegex(@"public static void (\w+)<TK>\(")]
    private static partial Regex KernelDeclaration();

    [Fact]
    public void A_kernel_file_declares_one_pair_of_kernels_generic_over_K_however_many_K_are_specialized()
    {
        var spec = PlannerTests.Spec();

        string text = KernelEmitter.Emit(Plan(spec, 128, 4096));

        string[] declared = KernelDeclaration().Matches(text).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["Gemv_Q4_0xQ8_0_Avx512_R4", "Gemm_Q4_0xQ8_0_Avx512_R4C2"], declared);
        Assert.Equal(2, Regex.Matches(text, @"where TK : struct, IInnerDimension").Count);
    }

    [Fact]
    public void Every_count_follows_from_K_as_the_type_gives_it_so_a_fixed_K_folds_them_and_the_tail()
    {
        string text = KernelEmitter.Emit(Plan(PlannerTests.Spec(step: 64), 4096));

        foreach (string kernel in new[] { "Gemv_Q4_0xQ8_0_Avx512_R4<TK>(", "Gemm_Q4_0xQ8_0_Avx512_R4C2<TK>(" })
        {
            string[] code = Code(Body(text, kernel)).Split('\n').Select(l => l.Trim()).ToArray();
            // K is settled first, from the type when it is fixed; the trip count, the tail and the row size follow.
            int resolved = Array.IndexOf(code, "k = TK.IsFixed ? TK.K : k;");
            Assert.True(resolved > 0, $"{kernel} does not take K from TK");
            Assert.True(resolved < Array.IndexOf(code, "int steps = k / P.ValuesPerStep;"));
            Assert.Contains("int tail = k - steps * P.ValuesPerStep;", code);
            Assert.Contains("nint rowBytes = (nint)(k / TW.BlockSize) * sizeof(TW);", code);
            Assert.All(code.Where(l => l.Contains("TW.Dot(", StringComparison.Ordinal)), l => Assert.Contains("tail / TW.BlockSize", l));
            // Every step loop ends with a tail (the matrix-vector kernel's in either of its forms: one loop, or runs;
            // the matrix-matrix kernel's over a K block, whose last block ends with it).
            Assert.Equal(code.Count(l => l == "if (tail != 0)"), code.Count(l => l is "for (int s = 0; s < steps; s++)" or "for (int s = s0; s < s1; s++)"));
        }
    }

    [Fact]
    public void A_matrix_vector_kernel_steps_one_accumulator_per_row_as_the_matrix_matrix_kernel_does()
    {
        string text = KernelEmitter.Emit(Plan(PlannerTests.Spec(tiles: new TileSpec(4, 4, 2))));

        string generic = Code(Body(text, "Gemv_Q4_0xQ8_0_Avx512_R4<TK>("));
        // Per tile of rows and for the rows left over: the steps in runs of a cache line each, then the steps left,
        // in order, one accumulator per row; each run prefetches the next tile's lines of each row once.
        Assert.Equal(2, Regex.Matches(generic, @"for \(; s \+ run <= steps; s \+= run\)").Count);
        Assert.Equal(2, Regex.Matches(generic, @"for \(; s < steps; s\+\+\)").Count);
        Assert.Contains("a3 = P.MulAdd(P.LoadWeights(w3 + e * wStep), xs, a3);", generic);
        Assert.Contains("a3 = P.MulAdd(P.LoadWeights(w3 + s * wStep), xs, a3);", generic);
        Assert.Contains("WeightPrefetch.At(w3 + 4 * rowBytes + s * wStep, run * wStep);", generic);
        Assert.DoesNotContain("a0_1", generic);
    }

    /// <summary>The lines that are not comments.</summary>
    private static string Code(string text) =>
        string.Join("\n", text.Split('\n').Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));

    /// <summary>The text of one method, from its declaration to the next declaration.</summary>
    private static string Body(string text, string declaration)
    {
        int start = text.IndexOf("public static void " + declaration, StringComparison.Ordinal);
        Assert.True(start >= 0, $"{declaration} is not declared");
        int next = text.IndexOf("public static void ", start + 1, StringComparison.Ordinal);
        return next < 0 ? text[start..] : text[start..next];
    }

    [Fact]
    public void The_registry_lists_every_kernel_pair_in_one_order_whatever_order_the_plans_come_in()
    {
        var avx2 = Plan(PlannerTests.Spec(isa: "Avx2", step: 32), 4096);
        var avx512 = Plan(PlannerTests.Spec(isa: "Avx512"), 128, 4096);
        var f32 = Plan(PlannerTests.Spec("F32", 1, "F32", "Avx2", 8));

        string text = RegistryEmitter.Emit(new([avx512, f32, avx2]));

        Assert.Equal(text, RegistryEmitter.Emit(new([avx2, avx512, f32])));
        string[] lists = text.Split('\n').Where(l => l.TrimStart().StartsWith("..", StringComparison.Ordinal)).Select(l => l.Trim()).ToArray();
        Assert.Equal(
            [".. MatMulKernels.Entries_F32xF32_Avx2(),",
             ".. MatMulKernels.Entries_Q4_0xQ8_0_Avx2(),",
             ".. MatMulKernels.Entries_Q4_0xQ8_0_Avx512(),"],
            lists);
    }

    [Fact]
    public void Each_kernel_file_lists_the_instantiations_of_its_pair_on_RunTimeK_and_on_each_specialized_K()
    {
        string text = KernelEmitter.Emit(Plan(PlannerTests.Spec(isa: "Avx512"), 128, 4096));
        string[] entries = text.Split('\n').Where(l => l.TrimStart().StartsWith("new(", StringComparison.Ordinal)).Select(l => l.Trim()).ToArray();
        Assert.Equal(
            ["new(GgmlType.Q4_0, KernelIsa.Avx512, 0, P.ValuesPerStep, global::LlamaAot.Quants.Formats.ActivationOf<TX>(), \"Gemv_Q4_0xQ8_0_Avx512_R4<RunTimeK>\", &Gemv_Q4_0xQ8_0_Avx512_R4<RunTimeK>, \"Gemm_Q4_0xQ8_0_Avx512_R4C2<RunTimeK>\", &Gemm_Q4_0xQ8_0_Avx512_R4C2<RunTimeK>),",
             "new(GgmlType.Q4_0, KernelIsa.Avx512, 128, P.ValuesPerStep, global::LlamaAot.Quants.Formats.ActivationOf<TX>(), \"Gemv_Q4_0xQ8_0_Avx512_R4<K128>\", &Gemv_Q4_0xQ8_0_Avx512_R4<K128>, \"Gemm_Q4_0xQ8_0_Avx512_R4C2<K128>\", &Gemm_Q4_0xQ8_0_Avx512_R4C2<K128>),",
             "new(GgmlType.Q4_0, KernelIsa.Avx512, 4096, P.ValuesPerStep, global::LlamaAot.Quants.Formats.ActivationOf<TX>(), \"Gemv_Q4_0xQ8_0_Avx512_R4<K4096>\", &Gemv_Q4_0xQ8_0_Avx512_R4<K4096>, \"Gemm_Q4_0xQ8_0_Avx512_R4C2<K4096>\", &Gemm_Q4_0xQ8_0_Avx512_R4C2<K4096>),"],
            entries);
    }

    [GeneratedRegex(@"internal readonly struct (\w+) : IInnerDimension")]
    private static partial Regex DimensionDeclaration();

    [Fact]
    public void One_type_carries_each_specialized_K_however_many_kernels_are_instantiated_on_it()
    {
        var avx512 = Plan(PlannerTests.Spec(isa: "Avx512"), 128, 4096);
        var avx2 = Plan(PlannerTests.Spec(isa: "Avx2", step: 32), 96, 4096);

        string text = DimensionEmitter.Emit(DimensionEmitter.Dimensions(new([avx512, avx2])));

        Assert.Equal(["K96", "K128", "K4096"], DimensionDeclaration().Matches(text).Select(m => m.Groups[1].Value));
        Assert.Contains("public static int K => 4096;", text);
        Assert.Equal(3, Regex.Matches(text, "public static bool IsFixed => true;").Count);
        Assert.Equal(text, DimensionEmitter.Emit(DimensionEmitter.Dimensions(new([avx2, avx512]))));
    }

    [Fact]
    public void Kernels_for_finite_weights_say_so_in_the_registry_and_a_class_with_its_own_Dot_takes_the_tails()
    {
        var plan = Plan(PlannerTests.Spec() with { FiniteWeightsOnly = true, OwnDot = true }, 4096);
        string kernels = Code(KernelEmitter.Emit(plan));

        // The file's entry list: RunTimeK and K4096.
        Assert.Equal(2, Regex.Matches(kernels, @"\{ FiniteWeightsOnly = true \},").Count);
        Assert.Contains("+= P.Dot(", kernels);
        Assert.DoesNotContain("TW.Dot(", kernels);
        Assert.DoesNotContain("FiniteWeightsOnly", KernelEmitter.Emit(Plan(PlannerTests.Spec(), 4096)));
    }

    [Fact]
    public void Generated_text_uses_LF_line_ends_four_space_indents_and_no_trailing_spaces()
    {
        var plan = Plan(PlannerTests.Spec(), 4096);
        string text = KernelEmitter.Emit(plan) + RegistryEmitter.Emit(new([plan])) + DimensionEmitter.Emit(DimensionEmitter.Dimensions(new([plan])));

        Assert.DoesNotContain('\r', text);
        Assert.DoesNotContain('\t', text);
        string[] lines = text.Split('\n');
        Assert.All(lines, line => Assert.False(line.EndsWith(' '), $"trailing space: '{line}'"));
        Assert.All(lines, line => Assert.Equal(0, (line.Length - line.TrimStart(' ').Length) % 4));
    }

    [Fact]
    public void CodeWriter_blocks_brace_and_indent_their_scope()
    {
        var w = new CodeWriter();
        using (w.Block("class A"))
        {
            using (w.Block("void F()"))
                w.Line("return;");
            w.Line();
        }

        Assert.Equal("class A\n{\n    void F()\n    {\n        return;\n    }\n\n}\n", w.ToString());
    }
}
