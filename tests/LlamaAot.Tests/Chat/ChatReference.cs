using System.Text.Json.Nodes;
using LlamaAot.Chat;

namespace LlamaAot.Tests.Chat;

/// <summary>
/// reference/chat-templates/rendered: per template, each conversation case of cases.py as transformers rendered it
/// (or the error it raised). cases.py is read in place: its Python literals are JSON once TOOL is inlined and
/// True/False are spelled as JSON spells them.
/// </summary>
internal static class ChatReference
{
    public static string Directory => Path.Combine(Shared.Reference, "chat-templates");

    public static string Rendered => Path.Combine(Directory, "rendered");

    /// <summary>The clock the references were rendered with.</summary>
    public static readonly DateTime Now = new(2026, 7, 26, 10, 0, 0);

    public sealed record Case(string Name, bool AddGenerationPrompt, JsonArray Messages, JsonArray? Tools);

    public sealed record Expected(string Case, string? Output, string? Error);

    public static IReadOnlyDictionary<string, Case> Cases { get; } = LoadCases();

    public static IEnumerable<string> TemplateNames() =>
        System.IO.Directory.EnumerateFiles(Rendered, "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    /// <summary>The template's source, its compile error (null when it compiles) and its expected results.</summary>
    public static (string Source, string? CompileError, List<Expected> Results) Load(string name)
    {
        var rendered = JsonNode.Parse(File.ReadAllText(Path.Combine(Rendered, name + ".json")))!;
        string source = File.ReadAllText(Path.Combine(Directory, (string)rendered["template"]!));
        var results = rendered["results"]?.AsArray().Select(r => new Expected((string)r!["case"]!, (string?)r["output"], (string?)r["error"])).ToList() ?? [];
        return (source, (string?)rendered["compile_error"], results);
    }

    public static ChatTemplateOptions Options(Case c) => new()
    {
        AddGenerationPrompt = c.AddGenerationPrompt,
        BosToken = "<BOS>",
        EosToken = "<EOS>",
        Clock = () => Now,
    };

    private static Dictionary<string, Case> LoadCases()
    {
        string text = File.ReadAllText(Path.Combine(Rendered, "cases.py"));
        int tool = text.IndexOf("TOOL = ", StringComparison.Ordinal), cases = text.IndexOf("CASES = ", StringComparison.Ordinal);
        string toolJson = text[(tool + "TOOL = ".Length)..cases].Trim();
        string json = text[(cases + "CASES = ".Length)..]
            .Replace("[TOOL]", "[" + toolJson + "]", StringComparison.Ordinal)
            .Replace(": True", ": true", StringComparison.Ordinal)
            .Replace(": False", ": false", StringComparison.Ordinal);
        return JsonNode.Parse(json, documentOptions: new System.Text.Json.JsonDocumentOptions { AllowTrailingCommas = true })!.AsArray().Select(n => new Case(
            (string)n!["name"]!, (bool)n["add_generation_prompt"]!, n["messages"]!.AsArray(), n["tools"]?.AsArray()))
            .ToDictionary(c => c.Name);
    }
}
