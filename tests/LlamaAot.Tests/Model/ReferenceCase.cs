using System.Text.Json;

namespace LlamaAot.Tests.Model;

/// <summary>One of llama.cpp's reference JSONs in ../shared/reference (see the README there for every field).</summary>
internal sealed record ReferenceCase(
    string Model, string Prompt, int[] Tokens, float[][] Logits, int[] GreedyIds, string GreedyText, (int Id, float Logit)[][] GreedyTop5)
{
    public static ReferenceCase Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        int[] Ints(string name) => root.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return new ReferenceCase(
            root.GetProperty("model").GetString()!,
            root.GetProperty("prompt").GetString()!,
            Ints("tokens"),
            root.GetProperty("logits").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetSingle()).ToArray()).ToArray(),
            Ints("greedy_continuation_ids"),
            root.GetProperty("greedy_continuation_text").GetString()!,
            root.GetProperty("greedy_top5").EnumerateArray()
                .Select(step => step.EnumerateArray().Select(p => (p[0].GetInt32(), p[1].GetSingle())).ToArray()).ToArray());
    }

    /// <summary>stories260K-{type}.{prompt}.json, or the kv-f32 variant.</summary>
    public static string Stories260KPath(string type, string prompt, bool kvF32) => kvF32
        ? Path.Combine(Shared.Reference, "stories260K", "kv-f32", $"stories260K-{type}.{prompt}.kvf32.json")
        : Path.Combine(Shared.Reference, "stories260K", $"stories260K-{type}.{prompt}.json");

    public static readonly string[] Stories260KPrompts = ["once-upon-a-time", "lily-tom-park", "bos-only"];

    /// <summary>random-e256-l2-{type}.{prompt}.kvf32.json (llama.cpp with an F32 KV cache).</summary>
    public static string RandomE256KvF32Path(string type, string prompt) =>
        Path.Combine(Shared.Reference, "random-e256", "kv-f32", $"random-e256-l2-{type}.{prompt}.kvf32.json");

    public static readonly string[] RandomE256Prompts = ["once-upon-a-time", "lily-tom-park"];
}
