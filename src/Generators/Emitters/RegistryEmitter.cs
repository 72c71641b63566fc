using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using LlamaAot.Generators.Model;

namespace LlamaAot.Generators.Emitters;

/// <summary>Writes the table of every generated kernel, which KernelRegistry searches when a model loads.</summary>
internal static class RegistryEmitter
{
    public const string FileName = "KernelRegistry.g.cs";

    public static string Emit(EquatableArray<KernelPlan> plans)
    {
        var w = new CodeWriter();
        GeneratedHeader.Write(w,
            "Every kernel file lists its kernel pairs (matrix-vector, matrix-matrix), one per instantiation, with the weight type,",
            "instruction set and K they serve (K = 0: the RunTimeK instantiation, K from the argument); this table joins the lists.",
            "KernelRegistry picks from it once per weight tensor when a model loads.");
        w.Line();
        using (w.Block("internal static unsafe partial class KernelRegistry"))
        {
            w.Line("private static partial KernelEntry[] CreateGeneratedEntries() =>");
            w.Line("[");
            foreach (var plan in plans.OrderBy(p => p.Spec.WeightType, System.StringComparer.Ordinal).ThenBy(p => p.Spec.Isa, System.StringComparer.Ordinal).ThenBy(p => p.Spec.Rows))
                w.Line($"    .. MatMulKernels.{EntriesMethod(plan.Spec)}(),");
            w.Line("];");
        }
        return w.ToString();
    }

    /// <summary>The method each kernel file declares to list its kernel pairs.</summary>
    public static string EntriesMethod(PrimitiveSpec spec) => $"Entries_{spec.Recipe}";

    /// <summary>
    /// Writes the entry list of one kernel file (inside MatMulKernels, where P, TW and TX are in scope): the kernel
    /// pair instantiated on RunTimeK, then on each specialized K's type.
    /// </summary>
    public static void WriteEntries(CodeWriter w, KernelPlan plan)
    {
        var spec = plan.Spec;
        w.Line("/// <summary>The kernel pairs of this file, for KernelRegistry.</summary>");
        w.Line($"internal static KernelEntry[] {EntriesMethod(spec)}() =>");
        w.Line("[");
        WriteEntry(w, spec, null);
        foreach (var k in plan.Specialized)
            WriteEntry(w, spec, k.K);
        w.Line("];");
    }

    private static void WriteEntry(CodeWriter w, PrimitiveSpec spec, int? k)
    {
        string gemv = KernelEmitter.Instance(KernelEmitter.GemvName(spec), k), gemm = KernelEmitter.Instance(KernelEmitter.GemmName(spec), k);
        string kText = (k ?? 0).ToString(CultureInfo.InvariantCulture);
        var init = new List<string>();
        if (spec.IsInterleaved)
            init.AddRange(["Rows = P.Rows", "Repack = &P.Repack"]);
        else if (spec.IsStepped)
            init.AddRange(["Rows = P.SteppedRows", "Repack = &P.Repack"]);
        if (spec.FiniteWeightsOnly)
            init.Add("FiniteWeightsOnly = true");
        string initializer = init.Count > 0 ? $" {{ {string.Join(", ", init)} }}" : "";
        w.Line($"    new(GgmlType.{spec.WeightType}, KernelIsa.{spec.Isa}, {kText}, P.ValuesPerStep, global::LlamaAot.Quants.Formats.ActivationOf<TX>(), \"{gemv}\", &{gemv}, \"{gemm}\", &{gemm}){initializer},");
    }
}
