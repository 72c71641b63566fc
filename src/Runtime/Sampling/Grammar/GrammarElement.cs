namespace LlamaAot.Sampling;

/// <summary>What one element of a compiled grammar rule is (llama.cpp's <c>llama_gretype</c>).</summary>
internal enum GrammarElementType : byte
{
    /// <summary>End of a rule definition.</summary>
    End,
    /// <summary>Start of another alternative of the same rule.</summary>
    Alt,
    /// <summary>A reference to the rule whose id is the value.</summary>
    RuleRef,
    /// <summary>A character (code point), or the first of a class: <c>[abc]</c> is Char a, CharAlt b, CharAlt c.</summary>
    Char,
    /// <summary>The first character of a negated class <c>[^...]</c>.</summary>
    CharNot,
    /// <summary>Makes the character before it the lower end of an inclusive range (<c>[a-z]</c>).</summary>
    CharRangeUpper,
    /// <summary>Another character of the class started by the Char or CharNot before it.</summary>
    CharAlt,
    /// <summary>Any character (<c>.</c>).</summary>
    CharAny,
    /// <summary>The one token whose id is the value (<c>&lt;[id]&gt;</c>, or <c>&lt;|name|&gt;</c> once bound).</summary>
    Token,
    /// <summary>Any one token but the one whose id is the value (<c>!&lt;[id]&gt;</c>).</summary>
    TokenNot,
    /// <summary>
    /// <c>&lt;text&gt;</c> written by its text: the value indexes <see cref="Grammar.TokenTexts"/>; it becomes a
    /// <see cref="Token"/> when the grammar meets a vocabulary (the text must be exactly one token there).
    /// </summary>
    NamedToken,
    /// <summary><c>!&lt;text&gt;</c>: becomes a <see cref="TokenNot"/> when bound, as <see cref="NamedToken"/>.</summary>
    NamedTokenNot,
}

/// <summary>One element of a compiled rule (llama.cpp's <c>llama_grammar_element</c>).</summary>
internal readonly record struct GrammarElement(GrammarElementType Type, int Value)
{
    public bool IsEndOfSequence => Type is GrammarElementType.End or GrammarElementType.Alt;

    /// <summary>The first element of a character class (where a parse stack can stop on a character).</summary>
    public bool IsCharStart => Type is GrammarElementType.Char or GrammarElementType.CharNot or GrammarElementType.CharAny;

    public bool IsToken => Type is GrammarElementType.Token or GrammarElementType.TokenNot;
}
