using System.CommandLine;

namespace LlamaAot.Cli.Commands;

/// <summary>llama-cli's conversation flags, and the context shift that generation of any kind can use.</summary>
internal sealed class ChatFlags
{
    public readonly Option<bool> Conversation = new("--conversation", "-cnv") { Description = "Conversation mode: chat with the model turn by turn (as the chat command)." };
    public readonly Option<bool> NoConversation = new("--no-conversation", "-no-cnv") { Description = "One-shot generation (the default of run, whatever the model)." };
    private readonly Option<string?> _system = new("--system-prompt", "-sys") { Description = "The system message of a conversation.", HelpName = "TEXT" };
    private readonly Option<string?> _templateFile = new("--chat-template-file") { Description = "A Jinja chat template to use instead of the model's.", HelpName = "FILE" };
    private readonly Option<string[]> _reverse = new("--reverse-prompt", "-r")
    {
        Description = "Stop generating at this text and hand the turn back (repeatable).",
        HelpName = "TEXT",
        DefaultValueFactory = _ => [],
    };
    private readonly Option<string> _inPrefix = new("--in-prefix") { Description = "Text put before each of your messages.", HelpName = "TEXT", DefaultValueFactory = _ => "" };
    private readonly Option<string> _inSuffix = new("--in-suffix") { Description = "Text put after each of your messages.", HelpName = "TEXT", DefaultValueFactory = _ => "" };
    private readonly Option<bool> _contextShift = new("--context-shift")
    {
        Description = "When the context fills, keep the first --keep tokens, drop half of the rest and go on (off: stop).",
    };
    private readonly Option<int> _keep = new("--keep")
    {
        Description = "Tokens of the prompt a context shift keeps, after BOS; -1 = the whole prompt.",
        HelpName = "N",
        DefaultValueFactory = _ => 0,
        CustomParser = OptionValues.Int(-1, int.MaxValue, "an integer from -1 (the whole prompt) up"),
    };

    public IEnumerable<Option> Options => [_system, _templateFile, _reverse, _inPrefix, _inSuffix, _contextShift, _keep];

    /// <summary>Whether -cnv was given after any -no-cnv (the last one wins; run is one-shot without either).</summary>
    public bool ConversationAsked(ParseResult p)
    {
        for (int i = p.Tokens.Count - 1; i >= 0; i--)
        {
            string word = p.Tokens[i].Value;
            if (word == Conversation.Name || Conversation.Aliases.Contains(word))
                return true;
            if (word == NoConversation.Name || NoConversation.Aliases.Contains(word))
                return false;
        }
        return false;
    }

    public ChatSettings Read(ParseResult p)
    {
        string? templateFile = p.GetValue(_templateFile);
        return new ChatSettings(
            p.GetValue(_system),
            templateFile is null ? null : CommonOptions.ReadTextFile(templateFile, "chat template"),
            p.GetValue(_reverse)!,
            p.GetValue(_inPrefix)!,
            p.GetValue(_inSuffix)!);
    }

    public GenerationOptions Apply(ParseResult p, GenerationOptions options) =>
        options with { ContextShift = p.GetValue(_contextShift), Keep = p.GetValue(_keep), Stop = p.GetValue(_reverse)! };
}

/// <summary>What a conversation is made of besides the model and sampling: the system message, template and wrapping.</summary>
internal sealed record ChatSettings(string? SystemPrompt, string? TemplateSource, string[] ReversePrompts, string InPrefix, string InSuffix);
