namespace LlamaAot.Tokenizers;

/// <summary>A role a token can play besides being text. Ids of roles are resolved by <see cref="SpecialTokenRules"/>.</summary>
internal enum SpecialTokenRole
{
    Bos,
    Eos,
    Eot,
    Eom,
    Unk,
    Sep,
    Pad,
    Mask,
    FimPre,
    FimSuf,
    FimMid,
    FimPad,
    FimRep,
    FimSep,
}

/// <summary>
/// Where the ids of special tokens come from, as in the "special tokens" block of llama.cpp 0.5.0's
/// <c>llama_vocab::impl::load</c>: the type's defaults, then GGUF keys, then — for roles still unset — a token
/// whose text is one of a few well-known spellings. Kept as data so each rule is stated once.
/// </summary>
internal static class SpecialTokenRules
{
    /// <summary>Defaults of each vocabulary type; other roles start unset. (<c>gemma4</c> files have none.)</summary>
    public static (SpecialTokenRole Role, int Id)[] Defaults(VocabularyType type, string model) => type switch
    {
        VocabularyType.Spm => [(SpecialTokenRole.Bos, 1), (SpecialTokenRole.Eos, 2), (SpecialTokenRole.Unk, 0)],
        VocabularyType.Wpm =>
        [
            (SpecialTokenRole.Bos, 101), (SpecialTokenRole.Unk, 100), (SpecialTokenRole.Sep, 102),
            (SpecialTokenRole.Pad, 0), (SpecialTokenRole.Mask, 103),
        ],
        VocabularyType.Bpe when model == "gemma4" => [],
        VocabularyType.Bpe => [(SpecialTokenRole.Bos, 11), (SpecialTokenRole.Eos, 11)],
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>
    /// GGUF keys in llama.cpp's order (<c>special_token_types</c>); when two keys name the same role the later one
    /// wins, so the deprecated <c>prefix/suffix/middle</c> keys override <c>fim_pre/suf/mid</c>. ("seperator" is
    /// GGUF's spelling.)
    /// </summary>
    public static readonly (string Key, SpecialTokenRole Role)[] MetadataKeys =
    [
        ("tokenizer.ggml.bos_token_id", SpecialTokenRole.Bos),
        ("tokenizer.ggml.eos_token_id", SpecialTokenRole.Eos),
        ("tokenizer.ggml.eot_token_id", SpecialTokenRole.Eot),
        ("tokenizer.ggml.eom_token_id", SpecialTokenRole.Eom),
        ("tokenizer.ggml.unknown_token_id", SpecialTokenRole.Unk),
        ("tokenizer.ggml.seperator_token_id", SpecialTokenRole.Sep),
        ("tokenizer.ggml.padding_token_id", SpecialTokenRole.Pad),
        ("tokenizer.ggml.mask_token_id", SpecialTokenRole.Mask),
        ("tokenizer.ggml.fim_pre_token_id", SpecialTokenRole.FimPre),
        ("tokenizer.ggml.fim_suf_token_id", SpecialTokenRole.FimSuf),
        ("tokenizer.ggml.fim_mid_token_id", SpecialTokenRole.FimMid),
        ("tokenizer.ggml.fim_pad_token_id", SpecialTokenRole.FimPad),
        ("tokenizer.ggml.fim_rep_token_id", SpecialTokenRole.FimRep),
        ("tokenizer.ggml.fim_sep_token_id", SpecialTokenRole.FimSep),
        ("tokenizer.ggml.prefix_token_id", SpecialTokenRole.FimPre),
        ("tokenizer.ggml.suffix_token_id", SpecialTokenRole.FimSuf),
        ("tokenizer.ggml.middle_token_id", SpecialTokenRole.FimMid),
    ];

    /// <summary>
    /// Texts that give a still-unset role its id ("auto-detect special tokens by text"). The matched token gains
    /// <see cref="TokenType.Control"/>: llama.cpp logs "control-looking token ... was not control-type".
    /// </summary>
    public static readonly (SpecialTokenRole Role, string[] Texts)[] DetectedByText =
    [
        (SpecialTokenRole.Eot,
        [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
            "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
        ]),
        (SpecialTokenRole.Eom, ["<|eom_id|>"]),
        (SpecialTokenRole.FimPre,
            ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]),
        (SpecialTokenRole.FimSuf,
            ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]),
        (SpecialTokenRole.FimMid,
            ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]),
        (SpecialTokenRole.FimPad, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
        (SpecialTokenRole.FimRep, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
        (SpecialTokenRole.FimSep, ["<|file_sep|>"]),
    ];

    /// <summary>Roles whose token ends generation (<c>special_eog_ids</c>), when set.</summary>
    public static readonly SpecialTokenRole[] EndOfGenerationRoles =
    [
        SpecialTokenRole.FimPad, SpecialTokenRole.FimRep, SpecialTokenRole.FimSep,
        SpecialTokenRole.Eos, SpecialTokenRole.Eot, SpecialTokenRole.Eom,
    ];

    /// <summary>Texts whose token always ends generation, whatever the metadata says; each gains Control.</summary>
    public static readonly string[] EndOfGenerationTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
        "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
    ];

    /// <summary>gpt-oss's tokens that are always rendered: they become exactly user-defined.</summary>
    public static readonly string[] AlwaysRendered = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

    /// <summary>
    /// End-of-generation tokens that stop being one when all the others of their group are present too
    /// (o200k_harmony / solar-open: <c>&lt;|end|&gt;</c> ends a message, not the generation; Gemma 4: <c>&lt;/s&gt;</c>).
    /// The token then gets the given kind.
    /// </summary>
    public static readonly (string Text, string[][] WhenAllOf, TokenAttributes Becomes)[] NotEndOfGeneration =
    [
        ("<|end|>", [["<|return|>", "<|call|>"], ["<|call|>", "<|flush|>"], ["<|calls|>", "<|flush|>"]], TokenAttributes.UserDefined),
        ("</s>", [["<|tool_response>"]], TokenAttributes.Normal),
    ];

    /// <summary>
    /// Phi-3 rule of llama.cpp's "per token attributes" block: when <c>general.name</c> (lower-cased) contains one of
    /// these, every special token drops the whitespace after it when split out of the text, except these three.
    /// </summary>
    public static readonly string[] RStripModelNames = ["phi-3", "phi3"];

    /// <summary>Tokens that keep their following whitespace under the Phi-3 rule.</summary>
    public static readonly string[] RStripExceptions = ["<unk>", "<s>", "<|endoftext|>"];

    /// <summary>The other rules of that block: a mask token that drops the whitespace before it, by pre-tokenizer
    /// (jina v2) or by model name (ModernBERT).</summary>
    public static readonly (string[] PreTokenizers, string[] ModelNames, string Mask)[] LStripMasks =
    [
        (["jina-v2-de", "jina-v2-es", "jina-v2-code"], [], "<mask>"),
        ([], ["modern-bert"], "[MASK]"),
    ];
}
