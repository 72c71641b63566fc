using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests.Infrastructure;

/// <summary>Reads the tracked steps of a generator run.</summary>
internal static class Steps
{
    /// <summary>Every name in <see cref="KernelGenerator.TrackingNames"/>, so a step added later is checked too.</summary>
    public static IReadOnlyList<string> TrackingNames { get; } = typeof(KernelGenerator.TrackingNames)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .Order(StringComparer.Ordinal)
        .ToArray();

    public static ImmutableArray<(object Value, IncrementalStepRunReason Reason)> Outputs(this GeneratorRunResult result, string step) =>
        result.TrackedSteps.TryGetValue(step, out var steps)
            ? steps.SelectMany(s => s.Outputs).ToImmutableArray()
            : throw new InvalidOperationException($"No tracked step {step}; the tracked steps are: {string.Join(", ", result.TrackedSteps.Keys.Order())}");

    public static bool IsRerun(IncrementalStepRunReason reason) =>
        reason is IncrementalStepRunReason.New or IncrementalStepRunReason.Modified or IncrementalStepRunReason.Removed;

    /// <summary>
    /// The hint names of the files the source outputs produced anew in this run (reason New or Modified). A cached
    /// output re-emits nothing, whatever the driver keeps showing in GeneratedSources.
    /// </summary>
    public static IReadOnlyList<string> RegeneratedSources(this GeneratorRunResult result) =>
        result.TrackedOutputSteps.TryGetValue(WellKnownGeneratorOutputs.SourceOutput, out var steps)
            ? steps.SelectMany(s => s.Outputs)
                .Where(o => o.Reason is IncrementalStepRunReason.New or IncrementalStepRunReason.Modified)
                .SelectMany(o => HintNames(o.Value))
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];

    /// <summary>
    /// A source output's value is (IEnumerable&lt;GeneratedSourceText&gt; sources, IEnumerable&lt;Diagnostic&gt;), and
    /// GeneratedSourceText is internal to Roslyn: its public HintName is read through reflection.
    /// </summary>
    private static IEnumerable<string> HintNames(object sourceOutput) =>
        ((IEnumerable)((ITuple)sourceOutput)[0]!).Cast<object>()
            .Select(s => (string)s.GetType().GetProperty("HintName")!.GetValue(s)!);

    /// <summary>"Plans: New, Modified" for each step: what a failed caching assertion prints.</summary>
    public static string Describe(this GeneratorRunResult result) => string.Join("\n", TrackingNames.Select(name =>
        $"{name}: {string.Join(", ", result.Outputs(name).Select(o => o.Reason))}"));
}
