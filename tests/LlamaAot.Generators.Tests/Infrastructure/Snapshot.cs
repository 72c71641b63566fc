using System.Runtime.CompilerServices;

namespace LlamaAot.Generators.Tests.Infrastructure;

/// <summary>
/// Compares generated text with a file committed under Snapshots/, byte for byte.
/// <para>To accept new output after an intended generator change, run the tests with <c>UPDATE_SNAPSHOTS=1</c>
/// (<c>UPDATE_SNAPSHOTS=1 dotnet test tests/LlamaAot.Generators.Tests</c>): each snapshot is rewritten with what
/// the generator emits now. Review the diff in git and commit it with the generator change.</para>
/// </summary>
internal static class Snapshot
{
    public const string UpdateVariable = "UPDATE_SNAPSHOTS";

    public static void Match(string name, string actual, [CallerFilePath] string callerPath = "")
    {
        string directory = Path.Combine(ProjectDirectory(callerPath), "Snapshots");
        string path = Path.Combine(directory, name);
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(path, actual);
            return;
        }
        if (!File.Exists(path))
            Assert.Fail($"No snapshot {path}. Run the tests with {UpdateVariable}=1 to write it, then review and commit it.");
        string expected = File.ReadAllText(path);
        if (expected == actual)
            return;
        string received = Path.Combine(Path.GetTempPath(), "llama-aot-snapshots", name);
        Directory.CreateDirectory(Path.GetDirectoryName(received)!);
        File.WriteAllText(received, actual);
        Assert.Fail($"{name} differs from its snapshot. {FirstDifference(expected, actual)}\n" +
            $"Compare: diff {path} {received}\n" +
            $"If the change is intended, run the tests with {UpdateVariable}=1 and commit the new snapshot.");
    }

    /// <summary>The first line that differs, with its number, as expected and as received.</summary>
    public static string FirstDifference(string expected, string actual)
    {
        string[] e = expected.Split('\n'), a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string? el = i < e.Length ? e[i] : null, al = i < a.Length ? a[i] : null;
            if (el != al)
                return $"First difference at line {i + 1}:\n  expected: {Show(el)}\n  received: {Show(al)}";
        }
        return "The texts differ only in line endings or a byte order mark.";
    }

    private static string Show(string? line) => line is null ? "(end of file)" : line.Replace("\r", "\\r");

    /// <summary>
    /// The folder of this project's sources: found from this file's compile-time path, or, when a path map hid
    /// that, from the test binaries' folder (bin/ sits inside the project folder).
    /// </summary>
    private static string ProjectDirectory(string callerPath)
    {
        const string project = "LlamaAot.Generators.Tests.csproj";
        foreach (string start in new[] { Path.GetDirectoryName(callerPath) ?? "", AppContext.BaseDirectory })
        {
            for (var dir = Directory.Exists(start) ? new DirectoryInfo(start) : null; dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, project)))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No {project} above {callerPath} or {AppContext.BaseDirectory}");
    }
}
