namespace LlamaAot.Tests;

/// <summary>
/// Paths into <c>../shared</c> beside the project root: llama.cpp's reference outputs and the test models. Tests
/// read them in place; nothing from there is copied into the project.
/// </summary>
internal static class Shared
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    public static string Reference => Path.Combine(Root, "reference");

    public static string Stories260K(string type) => Path.Combine(Models, "stories260K", $"stories260K-{type}.gguf");

    private static string FindRoot()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("LLAMA_AOT_SHARED");
        if (!string.IsNullOrEmpty(fromEnv))
            return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "llama-aot.slnx")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
        }
        throw new DirectoryNotFoundException("cannot find the project root (llama-aot.slnx) above " + AppContext.BaseDirectory);
    }
}
