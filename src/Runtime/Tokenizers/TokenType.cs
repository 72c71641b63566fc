namespace LlamaAot.Tokenizers;

/// <summary>
/// The kind of a vocabulary entry, numbered as in GGUF's <c>tokenizer.ggml.token_type</c> array (llama.cpp's
/// <c>enum llama_token_type</c>). Never renumber: these are wire values.
/// </summary>
public enum TokenType
{
    /// <summary>Not one of the kinds below; llama.cpp also maps unknown wire values here. Decodes to nothing.</summary>
    Undefined = 0,

    /// <summary>An ordinary SentencePiece piece; U+2581 in its text stands for a space.</summary>
    Normal = 1,

    /// <summary>The unknown-token placeholder (<c>&lt;unk&gt;</c>).</summary>
    Unknown = 2,

    /// <summary>A control token such as BOS or EOS: printed only when special tokens are rendered.</summary>
    Control = 3,

    /// <summary>A token added by the model's authors; always split out of the input text and always printed.</summary>
    UserDefined = 4,

    /// <summary>A reserved, unused slot. Decodes to nothing.</summary>
    Unused = 5,

    /// <summary>A byte-fallback token <c>&lt;0xHH&gt;</c> that stands for one raw byte.</summary>
    Byte = 6,
}
