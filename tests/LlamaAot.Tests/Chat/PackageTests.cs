using System.Diagnostics;
using LlamaAot.Chat;
using Microsoft.Extensions.AI;

namespace LlamaAot.Tests.Chat;

/// <summary>
/// The library as a NuGet package (issue 13): <c>dotnet pack</c> of src/Runtime gives a package with its licence,
/// notices and README, and a small app built against that package (not the project) runs a chat turn through
/// <see cref="IChatClient"/>, answering as the library does in-process.
/// </summary>
public sealed class PackageTests
{
    private const string App = """
        using LlamaAot;
        using LlamaAot.Chat;
        using Microsoft.Extensions.AI;

        using var model = LlamaModel.Load(args[0]);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using IChatClient client = new LlamaChatClient(context);
        var response = await client.GetResponseAsync("Tell me a story.", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
        Console.WriteLine($"{response.Usage!.OutputTokenCount} {response.FinishReason}");
        Console.Write(response.Text);
        """;

    private static string Run(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
            start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(start)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), $"dotnet {string.Join(' ', args)} did not finish");
        Assert.True(p.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed:\n{stdout}\n{stderr.Result}");
        return stdout;
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

    [Fact]
    public async Task AnAppBuiltAgainstThePackedPackageRunsAChatTurn()
    {
        string root = ProjectRoot();
        string configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        string work = Directory.CreateTempSubdirectory("llama-aot-pack-").FullName;
        try
        {
            // A version of its own: the app cannot pick up another copy from a package cache.
            string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
            string feed = Path.Combine(work, "feed"), app = Path.Combine(work, "app");
            Run(root, "pack", "src/Runtime", "-c", configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}");
            string package = Path.Combine(feed, $"LlamaAot.Runtime.{version}.nupkg");
            using (var zip = System.IO.Compression.ZipFile.OpenRead(package))
            {
                var names = zip.Entries.Select(e => e.FullName).ToHashSet();
                Assert.Superset(new HashSet<string> { "LICENSE", "THIRD-PARTY-NOTICES.md", "README.md", "lib/net10.0/LlamaAot.Runtime.dll" }, names);
            }

            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="LlamaAot.Runtime" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            // The packed package from the feed into a cache of the app's own; its dependencies from the machine's cache.
            string globalCache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <configuration>
                  <config><add key="globalPackagesFolder" value="{Path.Combine(work, "packages")}" /></config>
                  <packageSources><add key="llama-aot" value="{feed}" /></packageSources>
                  <fallbackPackageFolders><add key="machine" value="{globalCache}" /></fallbackPackageFolders>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), App);
            File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />"); // not the project's settings above /tmp
            Run(app, "build", "-c", "Release");
            string output = Run(app, "run", "-c", "Release", "--no-build", "--", Shared.Stories260K("Q8_0"));
            string[] lines = output.Split('\n', 2);
            Assert.Equal("16 length", lines[0]);
            // The app runs the packed library, restored from the feed.
            Assert.Equal(
                File.ReadAllBytes(Path.Combine(work, "packages", "llamaaot.runtime", version, "lib", "net10.0", "LlamaAot.Runtime.dll")),
                File.ReadAllBytes(Path.Combine(app, "bin", "Release", "net10.0", "LlamaAot.Runtime.dll")));

            using var model = LlamaModel.Load(Shared.Stories260K("Q8_0"));
            using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
            using IChatClient client = new LlamaChatClient(context);
            var expected = await client.GetResponseAsync("Tell me a story.", new ChatOptions { Temperature = 0, MaxOutputTokens = 16 });
            Assert.Equal(expected.Text, lines[1]);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
