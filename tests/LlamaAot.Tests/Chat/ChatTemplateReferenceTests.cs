using LlamaAot.Chat;
using LlamaAot.Chat.Jinja;
using Xunit.Abstractions;

namespace LlamaAot.Tests.Chat;

/// <summary>
/// Every real chat template of reference/chat-templates, rendered through <see cref="ChatTemplate"/> for each
/// conversation case, byte for byte as transformers rendered it; where transformers failed, rendering fails too.
/// </summary>
public sealed class ChatTemplateReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Templates() => [.. ChatReference.TemplateNames()];

    [Theory]
    [MemberData(nameof(Templates))]
    public void RendersEveryCaseAsTransformers(string name)
    {
        var (source, compileError, results) = ChatReference.Load(name);
        if (compileError is not null)
        {
            Assert.Throws<JinjaException>(() => new ChatTemplate(source));
            return;
        }
        var template = new ChatTemplate(source);
        var failures = new List<string>();
        foreach (var expected in results)
        {
            var c = ChatReference.Cases[expected.Case];
            string? actual = null, error = null;
            try
            {
                actual = template.Render(c.Messages, c.Tools, ChatReference.Options(c));
            }
            catch (JinjaException e)
            {
                error = e.Message;
            }
            if (expected.Error is not null && error is null)
                failures.Add($"{expected.Case}: rendered, but transformers failed with {expected.Error}");
            else if (expected.Error is not null && !error!.StartsWith(expected.Error, StringComparison.Ordinal))
                failures.Add($"{expected.Case}: failed with {error}, but transformers with {expected.Error}");
            else if (expected.Error is null && error is not null)
                failures.Add($"{expected.Case}: failed with {error}");
            else if (expected.Output is not null && actual != expected.Output)
                failures.Add($"{expected.Case}: differs at {FirstDifference(expected.Output, actual!)}");
            else
                output.WriteLine($"{expected.Case}: ok{(error is null ? "" : $" (fails as transformers: {error})")}");
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {results.Count} cases differ\n{string.Join("\n", failures)}");
    }

    private static string FirstDifference(string expected, string actual)
    {
        int i = 0;
        while (i < expected.Length && i < actual.Length && expected[i] == actual[i])
            i++;
        string Around(string s) => System.Text.Json.JsonSerializer.Serialize(s.Substring(Math.Max(0, i - 30), Math.Min(s.Length, i + 40) - Math.Max(0, i - 30)),
            LlamaAot.Tests.Chat.TestJson.Default.String);
        return $"char {i}: expected {Around(expected)}, got {Around(actual)}";
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class TestJson : System.Text.Json.Serialization.JsonSerializerContext;
