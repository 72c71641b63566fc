using System.Linq;
using LlamaAot.Generators.Model;

namespace LlamaAot.Generators.Emitters;

/// <summary>
/// Kernels over weights repacked into groups of interleaved rows: one accumulator vector holds the partial dot
/// products of every row of a group, so a step of the primitive advances a whole group of rows. Lane i is row i and
/// the result is stored without horizontal sums, unless the primitive declares its own Store (rows of several lanes,
/// reduced in the order a reference implementation reduces them, or an accumulator type of its own). K must be a
/// multiple of the step (the registry only offers these kernels then). Like the kernels on the file's layout, each
/// is generic over the type that carries K.
/// </summary>
internal static class InterleavedEmitter
{
    public static void Emit(CodeWriter w, KernelPlan plan)
    {
        EmitGemv(w, plan.Spec);
        EmitGemm(w, plan.Spec);
    }

    private static void EmitGemv(CodeWriter w, PrimitiveSpec spec)
    {
        string name = KernelEmitter.GemvName(spec);
        w.Line("/// <summary>");
        w.Line($"/// {name}: y[r] = dot(W[r], x) for r in [0, rows). W is repacked in groups of {spec.Rows} rows (P.Repack), the");
        w.Line("/// last group padded with zero rows; x holds K activations (K a multiple of the step). The share of rows starts");
        w.Line("/// at a group boundary.");
        w.Line("/// </summary>");
        KernelEmitter.WriteDimensionParameter(w);
        w.Line("[SkipLocalsInit]");
        using (w.Block($"public static void {name}<TK>(byte* w, byte* x, float* y, int rows, int k) where TK : struct, IInnerDimension"))
        {
            WriteSizes(w);
            using (w.Block("for (int r = 0; r < rows; r += P.Rows)"))
            {
                w.Line("byte* g = w + (nint)(r / P.Rows) * groupBytes;");
                w.Line($"var a0 = {KernelEmitter.Zero(spec)};");
                w.Line("// One accumulator, stepped as the matrix-matrix kernels step it: a token's result does not depend on its batch.");
                KernelEmitter.WriteLineRuns(w, "groupStep", "s",
                    prefetch: w => w.Line("WeightPrefetch.Ahead(g + s * groupStep, run * groupStep);"),
                    step: (w, s) => w.Line($"a0 = P.MulAdd(P.LoadWeights(g + {s} * groupStep), P.LoadActivations(x + {s} * xStep), a0);"));
                w.Line($"{Store(spec)}(a0, y + r, rows - r);");
            }
        }
        w.Line();
    }

    private static void EmitGemm(CodeWriter w, PrimitiveSpec spec)
    {
        int cols = spec.Tiles.GemmColumns;
        string name = KernelEmitter.GemmName(spec);
        w.Line("/// <summary>");
        w.Line($"/// {name}: y[c * yStride + r] = dot(W[r], x[c]) for r in [0, rows), c in [0, cols). W is repacked in groups");
        w.Line($"/// of {spec.Rows} rows; x holds cols activation rows back to back (K a multiple of the step). Tiles of one group x");
        w.Line($"/// {cols} columns: each weight step is unpacked once and used for {cols} columns.");
        w.Line("/// </summary>");
        KernelEmitter.WriteDimensionParameter(w);
        w.Line("[SkipLocalsInit]");
        using (w.Block($"public static void {name}<TK>(byte* w, byte* x, float* y, int rows, int cols, int k, nint yStride) where TK : struct, IInnerDimension"))
        {
            WriteSizes(w);
            w.Line("nint xRowBytes = steps * xStep;");
            using (w.Block("for (int r = 0; r < rows; r += P.Rows)"))
            {
                w.Line("byte* g = w + (nint)(r / P.Rows) * groupBytes;");
                w.Line("int c = 0;");
                using (w.Block($"for (; c + {cols} <= cols; c += {cols})"))
                    WriteGemmTile(w, spec, cols);
                w.Line("// Columns left over, one at a time, in the same per-element order of operations.");
                using (w.Block("for (; c < cols; c++)"))
                    WriteGemmTile(w, spec, 1);
            }
        }
        w.Line();
    }

    /// <summary>The call that writes one accumulator's rows: the primitive's own reduction, or lane i = row i.</summary>
    private static string Store(PrimitiveSpec spec) => spec.OwnStore ? "P.Store" : "InterleavedStore.Rows";

    private static void WriteGemmTile(CodeWriter w, PrimitiveSpec spec, int cols)
    {
        w.Line("byte* x0 = x + c * xRowBytes;");
        for (int j = 1; j < cols; j++)
            w.Line($"byte* x{j} = x{j - 1} + xRowBytes;");
        w.Line(string.Join(" ", Enumerable.Range(0, cols).Select(j => $"var a{j} = {KernelEmitter.Zero(spec)};").ToArray()));
        using (w.Block("for (int s = 0; s < steps; s++)"))
        {
            w.Line("var ws = P.LoadWeights(g + s * groupStep);");
            for (int j = 0; j < cols; j++)
                w.Line($"a{j} = P.MulAdd(ws, P.LoadActivations(x{j} + s * xStep), a{j});");
        }
        for (int j = 0; j < cols; j++)
            w.Line($"{Store(spec)}(a{j}, y + (c + {j}) * yStride + r, rows - r);");
    }

    private static void WriteSizes(CodeWriter w)
    {
        w.Line("// K: the type's constant (every count below then folds to a constant), or the argument.");
        w.Line("k = TK.IsFixed ? TK.K : k;");
        w.Line("// Bytes of one step of one group of rows, and of one step of activations.");
        w.Line("nint groupStep = P.Rows * (P.ValuesPerStep / TW.BlockSize) * sizeof(TW);");
        w.Line("nint xStep = P.ValuesPerStep / TX.BlockSize * sizeof(TX);");
        w.Line("int steps = k / P.ValuesPerStep;");
        w.Line("nint groupBytes = steps * groupStep;");
    }
}
