using System.Globalization;
using System.Linq;
using LlamaAot.Generators.Model;

namespace LlamaAot.Generators.Emitters;

/// <summary>
/// Writes the types that carry a specialized K: one struct per K that at least one primitive class is specialized
/// for, however many kernels are instantiated on it. (RunTimeK, for K at run time, is hand-written beside the
/// interface.)
/// </summary>
internal static class DimensionEmitter
{
    public const string FileName = "InnerDimensions.g.cs";

    /// <summary>The type a kernel is instantiated on: <c>K4096</c>, or <c>RunTimeK</c> for K at run time.</summary>
    public static string TypeName(int? k) => k is null ? "RunTimeK" : "K" + k.Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every specialized K of the plans, once, in increasing order.</summary>
    public static EquatableArray<SpecializedK> Dimensions(EquatableArray<KernelPlan> plans) =>
        plans.SelectMany(p => p.Specialized).GroupBy(k => k.K).Select(g => g.First()).OrderBy(k => k.K).ToEquatableArray();

    public static string Emit(EquatableArray<SpecializedK> dimensions)
    {
        var w = new CodeWriter();
        GeneratedHeader.Write(w,
            "One type per specialized K of the model shapes: every kernel is generic over the type that carries K, and the",
            "registry lists its instantiations on these (Gemv_...<K4096>), where K is a constant the compiler folds into trip",
            "counts and strides. RunTimeK serves every other K.");
        foreach (var k in dimensions)
        {
            string value = k.K.ToString(CultureInfo.InvariantCulture);
            w.Line();
            w.Line($"/// <summary>K = {value} ({k.Families}).</summary>");
            using (w.Block($"internal readonly struct {TypeName(k.K)} : IInnerDimension"))
            {
                w.Line("public static bool IsFixed => true;");
                w.Line();
                w.Line($"public static int K => {value};");
            }
        }
        return w.ToString();
    }
}
