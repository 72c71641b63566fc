using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LlamaAot.Tests;

/// <summary>The README's examples work as written: its C# compiles, its commands run the binary the build makes.</summary>
public partial class ReadmeTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(ProjectRoot(), "README.md"));

    /// <summary>
    /// Every ```csharp block compiles as the top-level program of a console app that references LlamaAot.Runtime:
    /// the SDK's implicit usings of a console project, and the assemblies the Runtime itself is built against.
    /// </summary>
    [Fact]
    public void EveryCSharpSnippetCompiles()
    {
        var blocks = Blocks("csharp").ToList();
        Assert.NotEmpty(blocks);
        string[] implicitUsings = ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];
        string globalUsings = string.Concat(implicitUsings.Select(u => $"global using {u};\n"));
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Append(typeof(LlamaModel).Assembly.Location)
            .Append(typeof(Microsoft.Extensions.AI.IChatClient).Assembly.Location)
            .Select(p => MetadataReference.CreateFromFile(p));
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        foreach (var (line, code) in blocks)
        {
            var compilation = CSharpCompilation.Create(
                "ReadmeSnippet",
                [CSharpSyntaxTree.ParseText(globalUsings, options), CSharpSyntaxTree.ParseText(code, options)],
                references,
                new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
            var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
            Assert.True(errors.Count == 0, $"README.md line {line}:\n{string.Join('\n', errors)}");
        }
    }

    /// <summary>
    /// The shell examples call the binary the build command makes (./publish/llama-aot: the bare name is not on the
    /// PATH), and the files they write go to /tmp, not into the checkout.
    /// </summary>
    [Fact]
    public void ShellExamplesRunThePublishedBinaryAndWriteOutsideTheCheckout()
    {
        var problems = new List<string>();
        foreach (var (line, code) in Blocks("sh"))
        {
            foreach (string command in code.Split('\n').Where(l => !l.TrimStart().StartsWith('#')))
            {
                foreach (Match m in Invocation().Matches(command))
                {
                    if (m.Groups["binary"].Value != "./publish/llama-aot")
                        problems.Add($"line {line}: '{m.Groups["binary"].Value}' is not the built binary: {command}");
                    string[] words = m.Groups["rest"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    string? output = words.FirstOrDefault() is "convert" or "quantize" ? words.ElementAtOrDefault(2) : null;
                    if (words.Contains("-o") && words.FirstOrDefault() == "logits")
                        output = words[Array.IndexOf(words, "-o") + 1];
                    if (output is not null && !output.StartsWith("/tmp/", StringComparison.Ordinal))
                        problems.Add($"line {line}: writes {output} into the working directory: {command}");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    private static IEnumerable<(int Line, string Code)> Blocks(string language)
    {
        foreach (Match m in Fence().Matches(Readme))
        {
            if (m.Groups["lang"].Value == language)
                yield return (Readme[..m.Index].Count(c => c == '\n') + 1, m.Groups["code"].Value);
        }
    }

    private static string ProjectRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "llama-aot.slnx")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("cannot find the project root (llama-aot.slnx) above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^```(?<lang>\w*)\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();

    // A command running llama-aot (at the start of a line or after &&, ; or |): the binary as written, then its
    // arguments up to the end of the command.
    [GeneratedRegex(@"(?:^|&&|;|\|)\s*(?<binary>[^\s;&|]*llama-aot)(?<rest>(?: [^;&|\n]*)?)", RegexOptions.Multiline)]
    private static partial Regex Invocation();
}
