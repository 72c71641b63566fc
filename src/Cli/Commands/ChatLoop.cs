using System.Text.Json.Nodes;
using LlamaAot.Chat;
using LlamaAot.Chat.Jinja;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// llama-cli's conversation mode: reads a message after the "> " marker (a line ending with \ goes on to the next),
/// renders the whole conversation with the chat template and lets the session evaluate only what its cache does not
/// hold, streams the answer until an end-of-generation token, and shows the turn's speeds on standard error.
/// <c>/exit</c> or end of input leaves; Ctrl+C stops the answer being generated, a second one (or one while waiting for
/// input) ends the process. A model without a template, given <c>--in-prefix</c>, <c>--in-suffix</c> or <c>-r</c>,
/// is talked to in raw text instead: each message wrapped in the prefix and suffix, the answer up to a reverse prompt.
/// </summary>
internal sealed class ChatLoop
{
    private readonly LlamaModel _model;
    private readonly LlamaSession _session;
    private readonly ChatSettings _settings;
    private readonly GenerationOptions _generation;
    private readonly TextWriter _out;
    private readonly ChatPrompt? _prompt; // null: raw text
    private readonly JsonArray _messages = [];
    private string _raw = "";
    private volatile CancellationTokenSource? _answering;

    public ChatLoop(LlamaModel model, LlamaSession session, ChatSettings settings, GenerationOptions generation, TextWriter output)
    {
        _model = model;
        _session = session;
        _settings = settings;
        _generation = generation;
        _out = output;
        bool hasTemplate = settings.TemplateSource is not null || model.Metadata.Contains(ChatTemplate.MetadataKey);
        bool raw = !hasTemplate && (settings.InPrefix.Length > 0 || settings.InSuffix.Length > 0 || settings.ReversePrompts.Length > 0);
        if (!raw)
        {
            ChatTemplate? template;
            try
            {
                template = settings.TemplateSource is null ? null : new ChatTemplate(settings.TemplateSource);
            }
            catch (JinjaException e)
            {
                throw new InputException($"the chat template does not compile: {e.Message}");
            }
            _prompt = new ChatPrompt(model, template);
            Log.Info(hasTemplate ? $"chat template: {(settings.TemplateSource is null ? "the model's" : "--chat-template-file")}" : "the model has no chat template: using ChatML, as llama.cpp does");
        }
        else
            Log.Info("the model has no chat template: raw text, each message between --in-prefix and --in-suffix");
        Clear();
    }

    /// <summary>Runs the conversation; <paramref name="first"/> (from -p) is the first message.</summary>
    public int Run(string? first)
    {
        Console.Error.WriteLine("""

            available commands:
              /exit or Ctrl+D     leave (Ctrl+C stops an answer; twice, or while you type, it exits)
              /regen              regenerate the last answer
              /clear              clear the conversation
              /read FILE          add a text file to your next message
              end a line with \   to go on writing on the next line

            """);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            // The first Ctrl+C during an answer stops it; any other ends the process (130), as llama-cli.
            if (_answering is { IsCancellationRequested: false } answering)
            {
                e.Cancel = true;
                answering.Cancel();
            }
            else
            {
                // While typing: leave now, as interrupted. The terminal's read is still waiting (the signal does not
                // end it), so this is the only way out.
                e.Cancel = true;
                Environment.Exit(ExitCodes.Interrupted);
            }
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            string pending = "";
            while (true)
            {
                string? input;
                if (first is not null)
                {
                    _out.Write($"\n> {first}\n");
                    input = first;
                    first = null;
                }
                else
                {
                    _out.Write("\n> ");
                    _out.Flush();
                    input = ReadMessage();
                    if (input is null)
                        break;
                }
                if (input.Length == 0)
                    continue;
                if (input.StartsWith("/exit", StringComparison.Ordinal))
                    break;
                if (input.StartsWith("/clear", StringComparison.Ordinal))
                {
                    Clear();
                    pending = "";
                    Console.Error.WriteLine("Chat history cleared.");
                    continue;
                }
                if (input.StartsWith("/read ", StringComparison.Ordinal))
                {
                    string path = input[6..].Trim();
                    if (!File.Exists(path))
                    {
                        Console.Error.WriteLine($"error: file does not exist or cannot be opened: '{path}'");
                        continue;
                    }
                    pending += $"--- File: {path} ---\n{File.ReadAllText(path)}";
                    Console.Error.WriteLine($"Loaded text from '{path}'");
                    continue;
                }
                if (input.StartsWith("/regen", StringComparison.Ordinal))
                {
                    if (!Regenerate())
                        Console.Error.WriteLine("error: no answer to regenerate");
                    continue;
                }
                Answer(pending + input);
                pending = "";
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        Console.Error.WriteLine("\nExiting...");
        return ExitCodes.Ok;
    }

    // Standard input decoded as UTF-8. On a terminal .NET reads it key by key and echoes the line itself (the terminal's
    // ISIG stays on, so Ctrl+C is a signal and never ends the read); from a pipe or file it is read as it is.
    private static readonly TextReader Input = new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false));

    /// <summary>A message: lines ending with \ continue on the next (the \ becomes a newline); null at end of input.</summary>
    private static string? ReadMessage()
    {
        string? line = Input.ReadLine();
        if (line is null)
            return null;
        string message = "";
        while (line is not null && line.EndsWith('\\'))
        {
            message += line[..^1] + "\n";
            line = Input.ReadLine();
        }
        return message + (line ?? "");
    }

    private static JsonNode Message(string role, string content) => new JsonObject { ["role"] = role, ["content"] = content };

    private void Clear()
    {
        _messages.Clear();
        if (_settings.SystemPrompt is { Length: > 0 } system)
            _messages.Add(Message("system", system));
        _raw = _settings.SystemPrompt ?? "";
    }

    private void Answer(string message)
    {
        if (_prompt is null)
        {
            string text = _raw + _settings.InPrefix + message + _settings.InSuffix;
            if (Generate(_model.Tokenize(text, addSpecial: true, parseSpecial: true), printStop: true) is { } answer)
                _raw = text + answer;
            return;
        }
        _messages.Add(Message("user", _settings.InPrefix + message + _settings.InSuffix));
        Reply();
    }

    /// <summary>Drops the last answer and answers the same messages again.</summary>
    private bool Regenerate()
    {
        if (_prompt is null || _messages.Count == 0 || (string?)_messages[^1]!["role"] != "assistant")
            return false;
        _messages.RemoveAt(_messages.Count - 1);
        Reply();
        return true;
    }

    private void Reply()
    {
        int[] tokens;
        try
        {
            tokens = _prompt!.Tokenize(_messages);
        }
        catch (JinjaException e)
        {
            throw new InputException($"the chat template failed: {e.Message}");
        }
        string? answer = Generate(tokens, printStop: false);
        if (answer is null)
            _messages.RemoveAt(_messages.Count - 1);
        else
            _messages.Add(Message("assistant", answer));
    }

    /// <summary>
    /// Streams the answer to <paramref name="prompt"/> and returns its text (with the reverse prompt that ended it when
    /// <paramref name="printStop"/>), or null when the prompt does not fit the context.
    /// </summary>
    private string? Generate(int[] prompt, bool printStop)
    {
        using var answering = new CancellationTokenSource();
        _answering = answering;
        var text = new System.Text.StringBuilder();
        try
        {
            foreach (var token in _session.GenerateTokens(prompt, _generation, answering.Token))
            {
                _out.Write(token.Text);
                _out.Flush();
                text.Append(token.Text);
            }
        }
        catch (PromptTooLongException e)
        {
            Console.Error.WriteLine($"error: {e.Message}; /clear starts again");
            return null;
        }
        finally
        {
            _answering = null;
        }
        var s = _session.LastStats!;
        if (printStop && _session.LastStopString is { } stop)
        {
            _out.Write(stop);
            text.Append(stop);
        }
        _out.WriteLine();
        _out.Flush();
        if (s.StopReason == StopReason.ContextFull)
            Log.Info($"the context is full ({_session.Context.SequenceContextSize} tokens): the answer stops here (--context-shift goes on instead)");
        Log.Info(
            $"[ Prompt: {s.PromptTokens} new tokens ({s.ReusedTokens} cached), {Log.F(s.PromptTokensPerSecond, 1)} t/s | Generation: {s.GeneratedTokens} tokens, {Log.F(s.GenerationTokensPerSecond, 1)} t/s ]");
        if (s.Grammar is { } g)
            Log.Info($"[ Grammar: {RunCommand.GrammarLine(g).TrimStart()} ]");
        return text.ToString();
    }
}
