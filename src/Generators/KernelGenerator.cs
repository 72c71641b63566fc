using System.Collections.Immutable;
using System.Linq;
using LlamaAot.Generators.Emitters;
using LlamaAot.Generators.Model;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators;

/// <summary>
/// Emits the SIMD matrix kernels. Pipeline: classes marked [KernelPrimitives] and [ModelShape] are parsed into
/// equatable specs, each primitive class is planned against the model shapes, and each plan becomes one source
/// file of kernels generic over the type that carries K; the registry and those types (one per specialized K) are
/// emitted from all plans. Diagnostics are reported beside the cached source outputs.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class KernelGenerator : IIncrementalGenerator
{
    public const string PrimitivesAttribute = "LlamaAot.Kernels.KernelPrimitivesAttribute";
    public const string ShapeAttribute = "LlamaAot.Kernels.ModelShapeAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parses = context.SyntaxProvider
            .ForAttributeWithMetadataName(PrimitivesAttribute, static (node, _) => Parser.IsClass(node), static (ctx, ct) => Parser.ParsePrimitives(ctx, ct))
            .WithTrackingName(TrackingNames.Primitives);

        var shapes = context.SyntaxProvider
            .ForAttributeWithMetadataName(ShapeAttribute, static (node, _) => Parser.IsClass(node), static (ctx, _) => Parser.ParseShapes(ctx))
            .Collect()
            .Select(static (all, _) => all.SelectMany(s => s).OrderBy(s => s.NEmbd).ThenBy(s => s.NFf).ThenBy(s => s.Family, System.StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.Shapes);

        var planned = parses
            .Where(static p => p.Spec is not null)
            .Combine(shapes)
            .Select(static (pair, _) => Planner.Plan(pair.Left.Spec!, pair.Right))
            .WithTrackingName(TrackingNames.Plans);

        // Sources depend on the plan alone, not on the fallbacks' locations: moving a shape re-emits nothing.
        var plans = planned
            .Select(static (p, _) => p.Plan)
            .WithTrackingName(TrackingNames.Kernels);
        context.RegisterSourceOutput(plans, static (spc, plan) => spc.AddSource(KernelEmitter.FileName(plan.Spec), KernelEmitter.Emit(plan)));

        var allPlans = plans
            .Collect()
            .Select(static (all, _) => all.OrderBy(p => p.Spec.Recipe, System.StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(TrackingNames.Registry);
        context.RegisterSourceOutput(allPlans, static (spc, all) => spc.AddSource(RegistryEmitter.FileName, RegistryEmitter.Emit(all)));

        // The types that carry K: one per specialized K, shared by every kernel instantiated on it.
        var dimensions = allPlans
            .Select(static (all, _) => DimensionEmitter.Dimensions(all))
            .WithTrackingName(TrackingNames.Dimensions);
        context.RegisterSourceOutput(dimensions, static (spc, ks) => spc.AddSource(DimensionEmitter.FileName, DimensionEmitter.Emit(ks)));

        context.RegisterSourceOutput(parses.Select(static (p, _) => p.Diagnostics), static (spc, diagnostics) => Report(spc, diagnostics));
        context.RegisterSourceOutput(planned.Select(static (p, _) => p.Fallbacks), static (spc, diagnostics) => Report(spc, diagnostics));
    }

    private static void Report(SourceProductionContext context, EquatableArray<DiagnosticInfo> diagnostics)
    {
        foreach (var d in diagnostics)
            context.ReportDiagnostic(Diagnostic.Create(Descriptors.ById[d.Id], d.Location?.ToLocation() ?? Location.None, d.Message));
    }

    /// <summary>Names of the pipeline steps, for caching tests.</summary>
    public static class TrackingNames
    {
        public const string Primitives = nameof(Primitives);
        public const string Shapes = nameof(Shapes);
        public const string Plans = nameof(Plans);
        public const string Kernels = nameof(Kernels);
        public const string Registry = nameof(Registry);
        public const string Dimensions = nameof(Dimensions);
    }
}

/// <summary>The diagnostics the generator reports.</summary>
internal static class Descriptors
{
    public static readonly DiagnosticDescriptor Fallback = new(
        Planner.FallbackId, "Shape not specialized", "{0}", "LlamaAot.Kernels", DiagnosticSeverity.Info, isEnabledByDefault: true,
        description: "A model shape's K cannot have a specialized kernel for this format and instruction set; the generic kernel serves it.");

    public static readonly DiagnosticDescriptor BadPrimitives = new(
        KernelGenerator.Parser.BadPrimitivesId, "Invalid kernel primitives", "{0}", "LlamaAot.Kernels", DiagnosticSeverity.Error, isEnabledByDefault: true,
        description: "A [KernelPrimitives] class does not fulfil the primitive contract.");

    public static readonly ImmutableDictionary<string, DiagnosticDescriptor> ById = new[] { Fallback, BadPrimitives }
        .ToImmutableDictionary(d => d.Id);
}
