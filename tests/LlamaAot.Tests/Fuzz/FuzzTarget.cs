namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// One parser under the fuzz test: its valid inputs, and how a case mutates them into a command line for the
/// llama-aot binary. A target registers itself by deriving from this class (FuzzTests finds every one), so a new
/// parser (a tokenizer, a chat template, a grammar) joins the fuzz test by adding one class. The server's request
/// bodies, cases sent to one long-running process rather than command lines, have their own test
/// (<see cref="RequestBodyFuzzTests"/>) on the same <see cref="FuzzRun"/>.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>Short name, used in test names and in the directory that keeps a failing case.</summary>
    public abstract string Name { get; }

    /// <summary>Writes the valid inputs the cases start from into <paramref name="seedDir"/> (once per run).</summary>
    public abstract void Prepare(string seedDir);

    /// <summary>
    /// Writes one case's input files into <paramref name="caseDir"/> and returns the command line to run there.
    /// With <paramref name="random"/> null nothing is mutated: that case must succeed (exit 0), which proves the
    /// target starts from inputs llama-aot accepts.
    /// </summary>
    public abstract string[] Make(string seedDir, string caseDir, Random? random);

    /// <summary>Every target in this assembly.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } = typeof(FuzzTarget).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(FuzzTarget)) && !t.IsAbstract)
        .Select(t => (FuzzTarget)Activator.CreateInstance(t)!)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToList();

    public override string ToString() => Name;

    /// <summary>Copies <paramref name="name"/> from the seed to the case directory, mutated when <paramref name="random"/> is set.</summary>
    protected static string CopyMutated(string seedDir, string caseDir, string name, Random? random, Func<byte[], Random, byte[]> mutate)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(seedDir, name));
        string path = Path.Combine(caseDir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, random is null ? bytes : mutate(bytes, random));
        return path;
    }

    /// <summary>Copies <paramref name="name"/> from the seed to the case directory as it is.</summary>
    protected static string Copy(string seedDir, string caseDir, string name) => CopyMutated(seedDir, caseDir, name, null, (b, _) => b);
}
