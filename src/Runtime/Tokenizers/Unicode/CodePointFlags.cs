namespace LlamaAot.Tokenizers;

/// <summary>
/// llama.cpp's <c>unicode_cpt_flags</c> (src/unicode.h), bit for bit: one general category (the low byte; exactly
/// one bit set for every code point below 0x110000, <see cref="Undefined"/> above it) plus helper bits.
/// <see cref="None"/> is what llama.cpp's scanners see past the end of the text.
/// </summary>
[Flags]
internal enum CodePointFlags : ushort
{
    None = 0,
    Undefined = 0x0001,
    /// <summary>regex <c>\p{N}</c></summary>
    Number = 0x0002,
    /// <summary>regex <c>\p{L}</c></summary>
    Letter = 0x0004,
    /// <summary>regex <c>\p{Z}</c></summary>
    Separator = 0x0008,
    /// <summary>regex <c>\p{M}</c></summary>
    AccentMark = 0x0010,
    /// <summary>regex <c>\p{P}</c></summary>
    Punctuation = 0x0020,
    /// <summary>regex <c>\p{S}</c></summary>
    Symbol = 0x0040,
    /// <summary>regex <c>\p{C}</c></summary>
    Control = 0x0080,
    Categories = 0x00FF,
    /// <summary>In <c>unicode_set_whitespace</c> (Python's <c>str.isspace</c> minus U+001C..U+001F).</summary>
    Whitespace = 0x0100,
    /// <summary>The lowercase of some code point (a value of <c>unicode_map_lowercase</c>).</summary>
    Lowercase = 0x0200,
    /// <summary>The uppercase of some code point (a value of <c>unicode_map_uppercase</c>).</summary>
    Uppercase = 0x0400,
    /// <summary>The NFD first code point of some range of <c>unicode_ranges_nfd</c>.</summary>
    Nfd = 0x0800,
}
