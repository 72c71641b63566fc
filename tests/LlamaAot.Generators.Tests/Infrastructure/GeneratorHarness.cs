using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LlamaAot.Generators.Tests.Infrastructure;

/// <summary>Builds compilations from in-memory files and runs KernelGenerator over them with step tracking on.</summary>
internal static class GeneratorHarness
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly CSharpCompilationOptions CompilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        allowUnsafe: true,
        nullableContextOptions: NullableContextOptions.Enable,
        deterministic: true);

    /// <summary>The running framework's assemblies (the same .NET the Runtime targets), loaded once per process.</summary>
    private static readonly Lazy<MetadataReference[]> FrameworkReferences = new(() =>
    {
        string frameworkDir = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        return ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(p => Path.GetDirectoryName(p) == frameworkDir && p.EndsWith(".dll", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToArray();
    });

    public static SyntaxTree Parse(string path, string text) => CSharpSyntaxTree.ParseText(text, ParseOptions, path);

    public static CSharpCompilation Compilation(IEnumerable<(string Path, string Text)> files) =>
        CSharpCompilation.Create("GeneratorInput", files.Select(f => Parse(f.Path, f.Text)), FrameworkReferences.Value, CompilationOptions);

    public static GeneratorDriver CreateDriver() => CSharpGeneratorDriver.Create(
        [new KernelGenerator().AsSourceGenerator()],
        parseOptions: ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>One generator run over <paramref name="files"/>: its sources, diagnostics and the compiled result.</summary>
    public static Run RunOnce(IEnumerable<(string Path, string Text)> files)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(Compilation(files), out var output, out var driverDiagnostics);
        return new Run(driver, output, driverDiagnostics);
    }

    public static bool IsGenerated(SyntaxTree tree) => tree.FilePath.Contains(nameof(KernelGenerator), StringComparison.Ordinal);
}

/// <summary>The result of one generator run.</summary>
internal sealed record Run(GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> DriverDiagnostics)
{
    public GeneratorRunResult Result => Driver.GetRunResult().Results.Single();

    /// <summary>The generator's own diagnostics (LLAOT001, LLAOT002 and any exception it threw).</summary>
    public ImmutableArray<Diagnostic> Diagnostics => Driver.GetRunResult().Diagnostics;

    public IReadOnlyDictionary<string, string> Sources =>
        Result.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString());

    /// <summary>What the compiler says of the output: every error, and the warnings in generated files.</summary>
    public string[] CompileProblems() => Output.GetDiagnostics()
        .Where(d => d.Severity == DiagnosticSeverity.Error || d.Severity == DiagnosticSeverity.Warning && d.Location.SourceTree is { } tree && GeneratorHarness.IsGenerated(tree))
        .Select(d => d.ToString())
        .ToArray();
}
