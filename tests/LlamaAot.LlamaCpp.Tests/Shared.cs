namespace LlamaAot.LlamaCpp.Tests;

/// <summary>Paths into ../shared beside the project root.</summary>
internal static class Shared
{
    public static string Root { get; } = FindRoot();

    public static string Stories260KF32 => Path.Combine(Root, "models", "stories260K", "stories260K-F32.gguf");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "llama-aot.slnx")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
        }
        throw new DirectoryNotFoundException("cannot find the project root (llama-aot.slnx) above " + AppContext.BaseDirectory);
    }
}
