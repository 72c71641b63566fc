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
        int groups = spec.Tiles.GemvGroups;
        w.Line("/// <summary>");
        w.Line($"/// {name}: y[r] = dot(W[r], x) for r in [0, rows). W is repacked in groups of {spec.Rows} rows (P.Repack), the");
        w.Line("/// last group padded with zero rows; x holds K activations (K a multiple of the step). The share of rows starts");
        w.Line(groups > 1
            ? $"/// at a group boundary. Tiles of {groups} groups, whose accumulators advance side by side (each step's activations loaded once)."
            : "/// at a group boundary.");
        w.Line("/// </summary>");
        KernelEmitter.WriteDimensionParameter(w);
        w.Line("[SkipLocalsInit]");
        using (w.Block($"public static void {name}<TK>(byte* w, byte* x, float* y, int rows, int k) where TK : struct, IInnerDimension"))
        {
            WriteSizes(w);
            w.Line("int r = 0;");
            if (groups > 1)
            {
                using (w.Block($"for (; r + {groups} * P.Rows <= rows; r += {groups} * P.Rows)"))
                    WriteGemvTile(w, spec, groups);
                w.Line("// Groups left over, one at a time, each row in the same order of operations.");
            }
            using (w.Block("for (; r < rows; r += P.Rows)"))
                WriteGemvTile(w, spec, 1);
        }
        w.Line();
    }

    private static void WriteGemvTile(CodeWriter w, PrimitiveSpec spec, int groups)
    {
        w.Line("byte* g0 = w + (nint)(r / P.Rows) * groupBytes;");
        for (int i = 1; i < groups; i++)
            w.Line($"byte* g{i} = g{i - 1} + groupBytes;");
        w.Line(string.Join(" ", Enumerable.Range(0, groups).Select(i => $"var a{i} = {KernelEmitter.Zero(spec)};").ToArray()));
        w.Line("// One accumulator per group, stepped as the matrix-matrix kernels step it: a token's result does not depend on its batch.");
        KernelEmitter.WriteLineRuns(w, "groupStep", "s",
            prefetch: (w, bytes) =>
            {
                // One group streams on: lines a fixed distance ahead. Several groups side by side: the next tile's lines.
                for (int i = 0; i < groups; i++)
                    w.Line(groups == 1
                        ? $"WeightPrefetch.Ahead(g0 + s * groupStep, {bytes});"
                        : $"WeightPrefetch.At(g{i} + {groups} * groupBytes + s * groupStep, {bytes});");
            },
            step: (w, s) =>
            {
                if (groups == 1)
                {
                    w.Line($"a0 = P.MulAdd(P.LoadWeights(g0 + {s} * groupStep), P.LoadActivations(x + {s} * xStep), a0);");
                    return;
                }
                w.Line($"var xs = P.LoadActivations(x + {s} * xStep);");
                for (int i = 0; i < groups; i++)
                    w.Line($"a{i} = P.MulAdd(P.LoadWeights(g{i} + {s} * groupStep), xs, a{i});");
            });
        for (int i = 0; i < groups; i++)
            w.Line($"{Store(spec)}(a{i}, y + r{(i == 0 ? "" : $" + {i} * P.Rows")}, rows - r{(i == 0 ? "" : $" - {i} * P.Rows")});");
    }

    private static void EmitGemm(CodeWriter w, PrimitiveSpec spec)
    {
        int cols = spec.Tiles.GemmColumns, groups = spec.Tiles.GemmGroups;
        string name = KernelEmitter.GemmName(spec);
        w.Line("/// <summary>");
        w.Line($"/// {name}: y[c * yStride + r] = dot(W[r], x[c]) for r in [0, rows), c in [0, cols). W is repacked in groups");
        w.Line($"/// of {spec.Rows} rows; x holds cols activation rows back to back (K a multiple of the step). Tiles of {(groups == 1 ? "one group" : $"{groups} groups")} x");
        w.Line(groups == 1
            ? $"/// {cols} columns: each weight step is unpacked once and used for {cols} columns."
            : $"/// {cols} columns: each weight step is unpacked once and used for {cols} columns, each activation step loaded once for {groups} groups.");
        w.Line("/// </summary>");
        KernelEmitter.WriteDimensionParameter(w);
        w.Line("[SkipLocalsInit]");
        using (w.Block($"public static void {name}<TK>(byte* w, byte* x, float* y, int rows, int cols, int k, nint yStride) where TK : struct, IInnerDimension"))
        {
            WriteSizes(w);
            w.Line("nint xRowBytes = steps * xStep;");
            if (spec.WidensScales)
            {
                w.Line("// The groups' scales, widened to floats once per call (P.WidenScales), not once per tile of columns: the same");
                w.Line("// values LoadWeights would widen from the group, so every token's result is the matrix-vector kernel's.");
                w.Line($"float* scales = KernelScratch.Floats({groups} * steps * P.ScalesPerStep);");
            }
            w.Line("int r = 0;");
            if (groups > 1)
            {
                using (w.Block($"for (; r + {groups} * P.Rows <= rows; r += {groups} * P.Rows)"))
                    WriteGemmColumns(w, spec, groups, cols);
                w.Line("// Groups left over, one at a time, in the same per-element order of operations.");
            }
            using (w.Block("for (; r < rows; r += P.Rows)"))
                WriteGemmColumns(w, spec, 1, cols);
        }
        w.Line();
    }

    /// <summary>The call that writes one accumulator's rows: the primitive's own reduction, or lane i = row i.</summary>
    private static string Store(PrimitiveSpec spec) => spec.OwnStore ? "P.Store" : "InterleavedStore.Rows";

    private static void WriteGemmColumns(CodeWriter w, PrimitiveSpec spec, int groups, int cols)
    {
        w.Line("byte* g0 = w + (nint)(r / P.Rows) * groupBytes;");
        for (int i = 1; i < groups; i++)
            w.Line($"byte* g{i} = g{i - 1} + groupBytes;");
        if (spec.WidensScales)
        {
            for (int i = 0; i < groups; i++)
            {
                w.Line(i == 0 ? "float* sc0 = scales;" : $"float* sc{i} = sc{i - 1} + steps * P.ScalesPerStep;");
                w.Line($"P.WidenScales(g{i}, steps, sc{i});");
            }
        }
        w.Line("int c = 0;");
        KernelEmitter.WriteColumnTiles(w, cols, "cols", width => WriteGemmTile(w, spec, groups, width));
    }

    private static void WriteGemmTile(CodeWriter w, PrimitiveSpec spec, int groups, int cols)
    {
        w.Line("byte* x0 = x + c * xRowBytes;");
        for (int j = 1; j < cols; j++)
            w.Line($"byte* x{j} = x{j - 1} + xRowBytes;");
        string Acc(int i, int j) => groups == 1 ? $"a{j}" : $"a{i}_{j}";
        for (int i = 0; i < groups; i++)
            w.Line(string.Join(" ", Enumerable.Range(0, cols).Select(j => $"var {Acc(i, j)} = {KernelEmitter.Zero(spec)};").ToArray()));
        w.Line("// The first tile of columns streams the groups' weights from memory, asking for each line ahead once (a step");
        w.Line("// shorter than a line asks every few steps); the other tiles find the weights in cache and do not ask.");
        w.Line("bool prefetch = c == 0 && groupStep <= WeightPrefetch.GemmStepBytes;");
        using (w.Block("for (int s = 0; s < steps; s++)"))
        {
            using (w.Block("if (prefetch && ((nint)s * groupStep & 63) < groupStep)"))
            {
                for (int i = 0; i < groups; i++)
                    w.Line($"WeightPrefetch.Ahead(g{i} + s * groupStep, groupStep);");
            }
            if (groups == 1)
            {
                w.Line($"var ws = {LoadWeights(spec, 0)};");
                for (int j = 0; j < cols; j++)
                    w.Line($"a{j} = P.MulAdd(ws, P.LoadActivations(x{j} + s * xStep), a{j});");
            }
            else
            {
                for (int j = 0; j < cols; j++)
                    w.Line($"var x{j}s = P.LoadActivations(x{j} + s * xStep);");
                for (int i = 0; i < groups; i++)
                {
                    w.Line($"var w{i}s = {LoadWeights(spec, i)};");
                    w.Line(string.Join(" ", Enumerable.Range(0, cols).Select(j => $"{Acc(i, j)} = P.MulAdd(w{i}s, x{j}s, {Acc(i, j)});").ToArray()));
                }
            }
        }
        for (int i = 0; i < groups; i++)
        {
            string row = i == 0 ? "r" : $"r + {i} * P.Rows";
            for (int j = 0; j < cols; j++)
                w.Line($"{Store(spec)}({Acc(i, j)}, y + (c + {j}) * yStride + {row}, rows - {row.Replace("+", "-")});");
        }
    }

    /// <summary>Group i's weights at step s, with its widened scales when the class widens them.</summary>
    private static string LoadWeights(PrimitiveSpec spec, int i) =>
        spec.WidensScales ? $"P.LoadWeights(g{i} + s * groupStep, sc{i} + s * P.ScalesPerStep)" : $"P.LoadWeights(g{i} + s * groupStep)";

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
