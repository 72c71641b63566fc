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
/// Where the ids of special tokens come from, as in the "special tokens" block of llama.cpp's
/// <c>llama_vocab::impl::load</c> (b4748): SPM defaults, then GGUF keys, then — for roles still unset — a token
/// whose text is one of a few well-known spellings. Kept as data so each rule is stated once.
/// </summary>
internal static class SpecialTokenRules
{
    /// <summary>Defaults of an SPM (<c>tokenizer.ggml.model = "llama"</c>) vocabulary; other roles start unset.</summary>
    public static readonly (SpecialTokenRole Role, int Id)[] SpmDefaults =
    [
        (SpecialTokenRole.Bos, 1),
        (SpecialTokenRole.Eos, 2),
        (SpecialTokenRole.Unk, 0),
    ];

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
    /// Texts that give a still-unset role its id ("auto-detect special tokens by text"). The matched token is
    /// forced to <see cref="TokenType.Control"/>: llama.cpp logs "control-looking token ... was not control-type".
    /// </summary>
    public static readonly (SpecialTokenRole Role, string[] Texts)[] DetectedByText =
    [
        (SpecialTokenRole.Eot, ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<｜end▁of▁sentence｜>"]),
        (SpecialTokenRole.Eom, ["<|eom_id|>"]),
        (SpecialTokenRole.FimPre, ["<|fim_prefix|>", "<fim-prefix>", "<｜fim▁begin｜>", "<PRE>"]),
        (SpecialTokenRole.FimSuf, ["<|fim_suffix|>", "<fim-suffix>", "<｜fim▁hole｜>", "<SUF>"]),
        (SpecialTokenRole.FimMid, ["<|fim_middle|>", "<fim-middle>", "<｜fim▁end｜>", "<MID>"]),
        (SpecialTokenRole.FimPad, ["<|fim_pad|>", "<fim-pad>", "<PAD>"]),
        (SpecialTokenRole.FimRep, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>"]),
        (SpecialTokenRole.FimSep, ["<|file_sep|>"]),
    ];

    /// <summary>Roles whose token ends generation (<c>special_eog_ids</c>), when set.</summary>
    public static readonly SpecialTokenRole[] EndOfGenerationRoles =
    [
        SpecialTokenRole.FimPad, SpecialTokenRole.FimRep, SpecialTokenRole.FimSep,
        SpecialTokenRole.Eos, SpecialTokenRole.Eot, SpecialTokenRole.Eom,
    ];

    /// <summary>Texts whose token always ends generation, whatever the metadata says; each is forced to Control.</summary>
    public static readonly string[] EndOfGenerationTexts =
        ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"];

    /// <summary>
    /// Phi-3 rule of llama.cpp's "per token attributes" block: when <c>general.name</c> (lower-cased) contains one of
    /// these, every special token drops the whitespace after it when split out of the text, except these three.
    /// (The other rule there, for jina-v2 BPE vocabularies, cannot apply to SPM.)
    /// </summary>
    public static readonly string[] RStripModelNames = ["phi-3", "phi3"];

    /// <summary>Tokens that keep their following whitespace under the Phi-3 rule.</summary>
    public static readonly string[] RStripExceptions = ["<unk>", "<s>", "<|endoftext|>"];
}
