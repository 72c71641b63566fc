using System.Text.Json.Nodes;
using LlamaAot.Gguf;
using LlamaAot.Tests.Chat;
using LlamaAot.Tests.Gguf;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// <c>llama-aot apply-template</c> through the binary: a sample of the reference renderings byte for byte (nothing added
/// to standard output), a model's own template and BOS/EOS texts, llama.cpp's ChatML for a model without a template, and
/// one <c>error:</c> line with exit 1 where the template fails.
/// </summary>
public class ApplyTemplateCliTests
{
    /// <summary>Every fifth template with the case its position picks, so each case is covered by some template.</summary>
    public static TheoryData<string, string> Sample()
    {
        var data = new TheoryData<string, string>();
        var names = ChatReference.TemplateNames().ToList();
        var cases = ChatReference.Cases.Keys.Order(StringComparer.Ordinal).ToList();
        for (int i = 0; i < names.Count; i += 5)
            data.Add(names[i], cases[i / 5 % cases.Count]);
        return data;
    }

    [Theory]
    [MemberData(nameof(Sample))]
    public void RendersAsTransformers(string name, string caseName)
    {
        var (_, compileError, results) = ChatReference.Load(name);
        Assert.Null(compileError);
        var expected = results.Single(r => r.Case == caseName);
        var c = ChatReference.Cases[caseName];
        using var dir = new TempDir();
        string messages = dir.File("messages.json");
        File.WriteAllText(messages, c.Messages.ToJsonString());
        string[] args = ["apply-template", "--template", Path.Combine(ChatReference.Directory, name + ".jinja"), "--messages", messages,
            "--bos", "<BOS>", "--eos", "<EOS>", "--now", "2026-07-26T10:00:00"];
        if (c.Tools is not null)
        {
            File.WriteAllText(dir.File("tools.json"), c.Tools.ToJsonString());
            args = [.. args, "--tools", dir.File("tools.json")];
        }
        if (!c.AddGenerationPrompt)
            args = [.. args, "--no-generation-prompt"];
        var r = LlamaAotProcess.Run(args);
        if (expected.Error is not null)
        {
            Assert.Equal(1, r.ExitCode);
            Assert.StartsWith($"error: the chat template failed: {expected.Error}", r.Stderr, StringComparison.Ordinal);
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        else
        {
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Equal(expected.Output, r.Stdout);
        }
    }

    /// <summary>stories260K has no template: llama.cpp's ChatML (common/chat.cpp CHATML_TEMPLATE_SRC).</summary>
    [Fact]
    public void ModelWithoutTemplateGetsChatMl()
    {
        using var dir = new TempDir();
        string messages = dir.File("m.json");
        File.WriteAllText(messages, ChatReference.Cases["multi-turn"].Messages.ToJsonString());
        var r = LlamaAotProcess.Run("apply-template", "-m", Shared.Stories260K("Q4_0"), "--messages", messages);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nName a color.<|im_end|>\n"
            + "<|im_start|>assistant\nBlue.<|im_end|>\n<|im_start|>user\nAnother one?<|im_end|>\n<|im_start|>assistant\n", r.Stdout);
    }

    /// <summary>A model's tokenizer.chat_template is used, with its vocabulary's BOS and EOS texts unless --bos/--eos say otherwise.</summary>
    [Fact]
    public void ModelTemplateAndSpecialTokens()
    {
        using var dir = new TempDir();
        using (var stories = GgufFile.Open(Shared.Stories260K("Q4_0")))
        {
            var writer = new GgufWriter();
            writer.AddMetadata(stories.Metadata);
            writer.Add("tokenizer.chat_template", "[{{ bos_token }}][{{ eos_token }}]{{ messages[0].content }}{{ strftime_now('%d %B %Y') }}");
            writer.WriteTo(dir.File("model.gguf"));
        }
        File.WriteAllText(dir.File("m.json"), """[{"role": "user", "content": "Hi"}]""");
        var r = LlamaAotProcess.Run("apply-template", "-m", dir.File("model.gguf"), "--messages", dir.File("m.json"), "--now", "2026-07-26T10:00:00");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("[<s>][</s>]Hi26 July 2026", r.Stdout);
        r = LlamaAotProcess.Run("apply-template", "-m", dir.File("model.gguf"), "--messages", dir.File("m.json"), "--bos", "B", "--now", "2026-01-05T00:00:00");
        Assert.Equal("[B][</s>]Hi05 January 2026", r.Stdout);
    }

    [Theory]
    [InlineData("{% for x in %}", "error: the chat template does not compile: TemplateSyntaxError: expected an expression, got end of statement block (template line 1, column 13)")]
    [InlineData("{{ raise_exception('no') }}", "error: the chat template failed: TemplateError: no (template line 1)")]
    [InlineData("{% set x = [] %}{{ x.append(1) }}", "error: the chat template failed: SecurityError: access to attribute 'append' of 'list' object is unsafe. (template line 1)")]
    public void FailingTemplateIsOneErrorLine(string template, string error)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("t.jinja"), template);
        File.WriteAllText(dir.File("m.json"), "[]");
        var r = LlamaAotProcess.Run("apply-template", "--template", dir.File("t.jinja"), "--messages", dir.File("m.json"));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Equal(error + "\n", r.Stderr);
    }

    [Theory]
    [InlineData("""{"role": "user"}""", "the messages must be a JSON array, not an object")]
    [InlineData("[1]", "messages[0] must be an object, not a number")]
    [InlineData("""[{"content": "x"}]""", "messages[0] has no string \"role\"")]
    [InlineData("""[{"role": "assistant", "content": "", "tool_calls": [1, null, {"function": 2}]}]""", null)]
    public void BadMessagesAreNamed(string json, string? error)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("m.json"), json);
        var r = LlamaAotProcess.Run("apply-template", "-m", Shared.Stories260K("Q4_0"), "--messages", dir.File("m.json"));
        if (error is null)
        {
            // Odd tool calls reach the template as they are (ChatML renders no tool calls).
            Assert.True(r.ExitCode == 0, r.Stderr);
            return;
        }
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(error, r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TemplateSourceIsExactlyOne()
    {
        var r = LlamaAotProcess.Run("apply-template", "--messages", "m.json");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: give the template with exactly one of -m (a model's) or --template\n", r.Stderr);
    }
}
