using System.Text;
using System.Text.Json.Nodes;

namespace LlamaAot.Chat;

/// <summary>
/// A conversation made into a model's prompt tokens, as llama-server makes them: the messages rendered with the chat
/// template (BOS and EOS given as the vocabulary's texts), the BOS text at the start dropped when tokenization adds BOS
/// itself (common_chat_templates_apply), then tokenized with special tokens parsed.
/// </summary>
public sealed class ChatPrompt
{
    private readonly LlamaModel _model;
    private readonly string _bos;

    /// <param name="model">The model whose vocabulary tokenizes the prompt.</param>
    /// <param name="template">The template; null for the model's (llama.cpp's ChatML when it has none).</param>
    /// <param name="clock">What <c>strftime_now</c> formats; the local time when null.</param>
    public ChatPrompt(LlamaModel model, ChatTemplate? template = null, Func<DateTime>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        Template = template ?? ChatTemplate.FromGguf(model.Metadata);
        _bos = Piece(model.Vocabulary.Bos);
        Options = new ChatTemplateOptions { BosToken = _bos, EosToken = Piece(model.Vocabulary.Eos), Clock = clock };
    }

    public ChatTemplate Template { get; }

    /// <summary>How the template renders (generation prompt on, the vocabulary's BOS and EOS texts).</summary>
    public ChatTemplateOptions Options { get; }

    /// <summary>The prompt text of <paramref name="messages"/> (with the assistant's turn header when asked).</summary>
    /// <exception cref="Jinja.JinjaException">The template raised or failed.</exception>
    public string Render(JsonArray messages, JsonArray? tools = null, bool addGenerationPrompt = true) =>
        Template.Render(messages, tools, Options with { AddGenerationPrompt = addGenerationPrompt });

    /// <summary>The prompt tokens of <paramref name="messages"/>.</summary>
    public int[] Tokenize(JsonArray messages, JsonArray? tools = null, bool addGenerationPrompt = true)
    {
        string text = Render(messages, tools, addGenerationPrompt);
        if (_model.Vocabulary.AddBos && _bos.Length > 0 && text.StartsWith(_bos, StringComparison.Ordinal))
            text = text[_bos.Length..];
        return _model.Tokenize(text, addSpecial: true, parseSpecial: true);
    }

    private string Piece(int? id) =>
        id is { } token ? Encoding.UTF8.GetString(_model.Tokenizer.TokenToPiece(token, special: true)) : "";
}
