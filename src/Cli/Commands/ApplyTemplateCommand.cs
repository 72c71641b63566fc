using System.CommandLine;
using System.Text;
using LlamaAot.Chat;
using LlamaAot.Chat.Jinja;
using LlamaAot.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// <c>llama-aot apply-template (-m FILE | --template FILE.jinja) --messages FILE.json [--tools FILE.json]
/// [--no-generation-prompt] [--bos S] [--eos S] [--now DATETIME]</c>: prints the prompt a chat template makes of a
/// conversation, exactly (nothing added), as transformers' apply_chat_template renders it. With -m the model's
/// template (llama.cpp's ChatML fallback when it has none) and its vocabulary's BOS/EOS texts; no weights are read.
/// </summary>
internal sealed class ApplyTemplateCommand
{
    private readonly Option<string?> _model = new("--model", "-m")
    {
        Description = "A GGUF model: its tokenizer.chat_template (ChatML when it has none) and its BOS/EOS texts.",
        HelpName = "FILE",
    };
    private readonly Option<string?> _template = new("--template", "--chat-template-file")
    {
        Description = "A Jinja chat template file to render instead of a model's.",
        HelpName = "FILE.jinja",
    };
    private readonly Option<string> _messages = new("--messages")
    {
        Description = "The conversation: a JSON array of messages ({\"role\": ..., \"content\": ...}, tool_calls, tool results).",
        HelpName = "FILE.json",
        Required = true,
    };
    private readonly Option<string?> _tools = new("--tools") { Description = "The tools on offer: a JSON array of tool definitions.", HelpName = "FILE.json" };
    private readonly Option<bool> _noGenerationPrompt = new("--no-generation-prompt")
    {
        Description = "Do not end with the assistant's turn header (add_generation_prompt false).",
    };
    private readonly Option<string?> _bos = new("--bos") { Description = "The bos_token text (default: the model's, else empty).", HelpName = "S" };
    private readonly Option<string?> _eos = new("--eos") { Description = "The eos_token text (default: the model's, else empty).", HelpName = "S" };
    private readonly Option<DateTime?> _now = new("--now")
    {
        Description = "The time strftime_now formats, as 2026-07-26T10:00:00 (default: the local time), for reproducible prompts.",
        HelpName = "DATETIME",
        CustomParser = r => OptionValues.DateTimeValue(r),
    };

    public static Command Create()
    {
        var self = new ApplyTemplateCommand();
        var command = new Command("apply-template", "Print the prompt a chat template renders for a conversation (messages and tools as JSON files), exactly.");
        foreach (var o in (Option[])[self._model, self._template, self._messages, self._tools, self._noGenerationPrompt, self._bos, self._eos, self._now])
            command.Add(o);
        command.SetAction(self.Run);
        return command;
    }

    private int Run(ParseResult p)
    {
        string? modelPath = p.GetValue(_model), templatePath = p.GetValue(_template);
        if ((modelPath is null) == (templatePath is null))
            throw new UsageException("give the template with exactly one of -m (a model's) or --template");
        string messagesPath = p.GetValue(_messages)!;
        string? toolsPath = p.GetValue(_tools);
        foreach (var (path, what) in (ReadOnlySpan<(string?, string)>)[(modelPath, "model"), (templatePath, "template"), (messagesPath, "messages"), (toolsPath, "tools")])
        {
            if (path is not null)
                InputFiles.Check(path, what);
        }

        string? bos = p.GetValue(_bos), eos = p.GetValue(_eos);
        string source;
        if (modelPath is not null)
        {
            using var file = GgufFile.Open(modelPath);
            source = ChatTemplate.FromGguf(file.Metadata).Source;
            if (bos is null || eos is null)
            {
                var vocabulary = Vocabulary.FromGguf(file.Metadata);
                var tokenizer = new Tokenizer(vocabulary);
                bos ??= Piece(tokenizer, vocabulary.Bos);
                eos ??= Piece(tokenizer, vocabulary.Eos);
            }
        }
        else
            source = File.ReadAllText(templatePath!);

        ChatTemplate template;
        try
        {
            template = new ChatTemplate(source);
        }
        catch (JinjaException e)
        {
            throw new InputException($"the chat template does not compile: {e.Message}");
        }
        DateTime? now = p.GetValue(_now);
        var options = new ChatTemplateOptions
        {
            AddGenerationPrompt = !p.GetValue(_noGenerationPrompt),
            BosToken = bos ?? "",
            EosToken = eos ?? "",
            Clock = now is { } fixedTime ? () => fixedTime : null,
        };
        var messages = ReadArray(messagesPath, "messages");
        var tools = toolsPath is null ? null : ReadArray(toolsPath, "tools");
        string prompt;
        try
        {
            prompt = template.Render(messages, tools, options);
        }
        catch (ArgumentException e)
        {
            throw new InputException($"{Excerpt.Path(messagesPath)}: {e.Message}");
        }
        catch (JinjaException e)
        {
            throw new InputException($"the chat template failed: {e.Message}");
        }

        using var output = StandardStreams.OpenOutput();
        output.Write(Encoding.UTF8.GetBytes(prompt));
        output.Flush();
        return ExitCodes.Ok;
    }

    private static System.Text.Json.Nodes.JsonArray ReadArray(string path, string what)
    {
        try
        {
            return ChatTemplate.ParseArray(File.ReadAllText(path), what);
        }
        catch (ArgumentException e)
        {
            throw new InputException($"{Excerpt.Path(path)}: {e.Message}");
        }
    }

    /// <summary>A special token's text as llama.cpp hands it to templates (common_token_to_piece, special shown).</summary>
    private static string Piece(Tokenizer tokenizer, int? id) =>
        id is { } token ? Encoding.UTF8.GetString(tokenizer.TokenToPiece(token, special: true)) : "";
}
