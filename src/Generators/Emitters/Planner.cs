using System.Collections.Generic;
using System.Linq;
using LlamaAot.Generators.Model;

namespace LlamaAot.Generators.Emitters;

/// <summary>Decides which K values the kernels of a primitive class are instantiated on as constants (pure: no Roslyn).</summary>
internal static class Planner
{
    public const string FallbackId = "LLAOT001";

    public static PlanResult Plan(PrimitiveSpec spec, EquatableArray<ShapeSpec> shapes)
    {
        var specialized = new List<SpecializedK>();
        var fallbacks = new List<DiagnosticInfo>();
        var notSpecialized = new List<string>();
        var byK = shapes
            .SelectMany(s => new[] { (K: s.NEmbd, Shape: s), (K: s.NFf, Shape: s) })
            .GroupBy(p => p.K)
            .OrderBy(g => g.Key);
        foreach (var group in byK)
        {
            int k = group.Key;
            string families = string.Join(", ", group.Select(p => p.Shape.Family).Distinct());
            string? reason =
                k % spec.WeightBlockSize != 0 ? $"not a multiple of the {spec.WeightType} block ({spec.WeightBlockSize} values)"
                : k % spec.ValuesPerStep != 0 ? $"not a multiple of the {spec.Isa} step ({spec.ValuesPerStep} values)"
                : null;
            if (reason is null)
            {
                specialized.Add(new SpecializedK(k, families));
                continue;
            }
            notSpecialized.Add($"K = {k} ({families}) is {reason}");
            fallbacks.Add(new DiagnosticInfo(
                FallbackId,
                $"K = {k} ({families}) is {reason}: {spec.Recipe} serves it with its generic kernel",
                group.First().Shape.Location));
        }
        return new PlanResult(new KernelPlan(spec, specialized.ToEquatableArray(), notSpecialized.ToEquatableArray()), fallbacks.ToEquatableArray());
    }
}
