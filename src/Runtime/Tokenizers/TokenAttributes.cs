namespace LlamaAot.Tokenizers;

/// <summary>
/// Per-token attribute bits, numbered as llama.cpp's <c>enum llama_token_attr</c>. The file gives one of the kind
/// bits (<see cref="Unknown"/> .. <see cref="Byte"/>), or none for <see cref="Undefined"/>; loading may add Control or
/// Unused to it (see <see cref="TokenAttributesExtensions.ToTokenType"/>); the strip bits are added
/// by model-specific rules in <c>llama_vocab::impl::load</c> and only matter when special tokens are split out of
/// the text (<c>tokenizer_st_partition</c>).
/// </summary>
[Flags]
internal enum TokenAttributes
{
    Undefined = 0,
    Unknown = 1 << 0,
    Unused = 1 << 1,
    Normal = 1 << 2,
    Control = 1 << 3,
    UserDefined = 1 << 4,
    Byte = 1 << 5,

    /// <summary>Whitespace before the token is dropped when it is split out of the text.</summary>
    LStrip = 1 << 7,

    /// <summary>Whitespace after the token is dropped when it is split out of the text.</summary>
    RStrip = 1 << 8,

    /// <summary>The kind bits, without the strip bits.</summary>
    KindMask = Unknown | Unused | Normal | Control | UserDefined | Byte,
}

internal static class TokenAttributesExtensions
{
    /// <summary>The kind bit of each <see cref="TokenType"/>, indexed by its wire value (the switch in
    /// <c>llama_vocab::impl::load</c>).</summary>
    private static readonly TokenAttributes[] KindOfType =
    [
        TokenAttributes.Undefined,   // TokenType.Undefined
        TokenAttributes.Normal,      // TokenType.Normal
        TokenAttributes.Unknown,     // TokenType.Unknown
        TokenAttributes.Control,     // TokenType.Control
        TokenAttributes.UserDefined, // TokenType.UserDefined
        TokenAttributes.Unused,      // TokenType.Unused
        TokenAttributes.Byte,        // TokenType.Byte
    ];

    /// <summary>The attributes of a GGUF token type; wire values llama.cpp does not know become
    /// <see cref="TokenAttributes.Undefined"/>, as there.</summary>
    public static TokenAttributes FromWireType(int type) =>
        (uint)type < (uint)KindOfType.Length ? KindOfType[type] : TokenAttributes.Undefined;

    /// <summary>The public token type of an attribute set: its kind bit, or where loading added a second one
    /// (Control to a token spelled like an end-of-turn marker, Unused to a control token named "unused"), the one
    /// that decides how it behaves: Control first.</summary>
    public static TokenType ToTokenType(this TokenAttributes attributes)
    {
        foreach (var kind in (ReadOnlySpan<TokenAttributes>)[
            TokenAttributes.Control, TokenAttributes.UserDefined, TokenAttributes.Unknown, TokenAttributes.Byte,
            TokenAttributes.Normal, TokenAttributes.Unused])
        {
            if ((attributes & kind) != 0)
                return (TokenType)Array.IndexOf(KindOfType, kind);
        }
        return TokenType.Undefined;
    }
}
