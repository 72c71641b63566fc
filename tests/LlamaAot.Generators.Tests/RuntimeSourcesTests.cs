using System.Text.RegularExpressions;
using LlamaAot.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace LlamaAot.Generators.Tests;

/// <summary>The generator over the real src/Runtime sources (parsed and bound, not compiled to IL: the Runtime build does that).</summary>
public partial class RuntimeSourcesTests
{
    [GeneratedRegex(@"\[KernelPrimitives\([^\]]*\)\]\s*internal static unsafe class (\w+)")]
    private static partial Regex PrimitiveClass();

    [Fact]
    public void Every_primitive_class_in_the_Runtime_gets_one_kernel_file_and_no_error()
    {
        var files = RuntimeFiles();
        string[] classes = files.SelectMany(f => PrimitiveClass().Matches(f.Text).Select(m => m.Groups[1].Value)).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(classes);

        var run = GeneratorHarness.RunOnce(files);

        Assert.Null(run.Result.Exception);
        Assert.DoesNotContain(run.Diagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        Assert.Equal(
            classes.Select(c => $"MatMulKernels.{c}.g.cs").Append("KernelRegistry.g.cs").Append("InnerDimensions.g.cs").Order(StringComparer.Ordinal),
            run.Sources.Keys.Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// Specializing by K once copied each kernel per model dimension (139,141 lines for 1,716 kernels, 91% of them
    /// copies); kernels generic over the type that carries K keep the generated source small enough to review.
    /// </summary>
    [Fact]
    public void The_generated_source_over_the_Runtime_stays_under_35000_lines()
    {
        var sources = GeneratorHarness.RunOnce(RuntimeFiles()).Sources;

        int lines = sources.Values.Sum(text => text.Count(c => c == '\n'));
        Assert.InRange(lines, 1, 35_000);
    }

    [Fact]
    public void Output_over_the_Runtime_is_the_same_when_its_files_come_in_reverse_order()
    {
        var files = RuntimeFiles();

        var forward = GeneratorHarness.RunOnce(files).Sources;
        var reverse = GeneratorHarness.RunOnce(files.AsEnumerable().Reverse()).Sources;

        Assert.Equal(forward.Keys.Order(StringComparer.Ordinal), reverse.Keys.Order(StringComparer.Ordinal));
        Assert.All(forward, s => Assert.True(s.Value == reverse[s.Key], $"{s.Key} depends on file order"));
    }

    private static (string Path, string Text)[] RuntimeFiles()
    {
        string runtime = Path.Combine(RepositoryRoot(), "src", "Runtime");
        return Directory.GetFiles(runtime, "*.cs", SearchOption.AllDirectories)
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Order(StringComparer.Ordinal)
            .Select(p => (Path.GetRelativePath(runtime, p), File.ReadAllText(p)))
            .Prepend(("GlobalUsings.cs", "global using System;\nglobal using System.Collections.Generic;\nglobal using System.IO;\nglobal using System.Linq;\nglobal using System.Threading;\nglobal using System.Threading.Tasks;\n"))
            .ToArray();
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "llama-aot.slnx")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"No llama-aot.slnx above {AppContext.BaseDirectory}");
    }
}
