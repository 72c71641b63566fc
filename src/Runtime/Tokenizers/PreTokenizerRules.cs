namespace LlamaAot.Tokenizers;

/// <summary>What a <c>tokenizer.ggml.pre</c> value sets besides its split patterns (the flags of
/// <c>llama_vocab::impl::load</c> in llama.cpp 0.5.0).</summary>
/// <param name="Kind">The split patterns (<c>llm_tokenizer_bpe</c>'s regex list).</param>
/// <param name="CleanSpaces">Detokenizing removes the space before <c>?!.,</c> and some apostrophes.</param>
/// <param name="IgnoreMerges">A word that is a token as a whole becomes that token without merging.</param>
/// <param name="AddBos">Forces add-BOS on (the file's <c>add_bos_token</c> can still turn it off).</param>
/// <param name="EscapeWhitespace">Spaces are written as U+2581 (SentencePiece-style BPE).</param>
/// <param name="ByteEncode">Words are mapped through GPT-2's byte-to-unicode table before merging.</param>
/// <param name="AlwaysAddBos">BOS is added even when the file says not to (llama.cpp's Gemma 4 workaround).</param>
internal readonly record struct PreTokenizerRule(
    PreTokenizerKind Kind,
    bool CleanSpaces = true,
    bool IgnoreMerges = false,
    bool AddBos = false,
    bool EscapeWhitespace = false,
    bool ByteEncode = true,
    bool AlwaysAddBos = false);

/// <summary>
/// The <c>tokenizer.ggml.pre</c> values llama-aot implements, each with what llama.cpp 0.5.0 does for it. A value
/// that is not here is refused by name; a value listed here shares its split patterns with a tested one.
/// </summary>
internal static class PreTokenizerRules
{
    /// <summary>The value llama.cpp assumes when the key is absent (with a warning about degraded quality).</summary>
    public const string DefaultName = "default";

    private static readonly Dictionary<string, PreTokenizerRule> ByName = Build();

    public static bool TryGet(string name, out PreTokenizerRule rule) => ByName.TryGetValue(name, out rule);

    /// <summary>The names whose llama.cpp test vectors pass (one per family of rules), for error messages.</summary>
    public static readonly string[] Tested =
    [
        DefaultName, "llama-bpe", "qwen2", "qwen35", "gpt-2", "mpt", "deepseek-llm", "deepseek-coder", "falcon",
        "starcoder", "refact", "command-r", "gemma4",
    ];

    private static Dictionary<string, PreTokenizerRule> Build()
    {
        var rules = new Dictionary<string, PreTokenizerRule>(StringComparer.Ordinal);
        void Add(PreTokenizerRule rule, params string[] names)
        {
            foreach (string name in names)
                rules.Add(name, rule);
        }

        Add(new(PreTokenizerKind.Default), DefaultName);
        Add(new(PreTokenizerKind.Llama3, IgnoreMerges: true, AddBos: true),
            "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano");
        Add(new(PreTokenizerKind.Llama3), "dbrx", "smaug-bpe");
        Add(new(PreTokenizerKind.DeepSeekLlm, CleanSpaces: false), "deepseek-llm");
        Add(new(PreTokenizerKind.DeepSeekCoder, CleanSpaces: false), "deepseek-coder");
        Add(new(PreTokenizerKind.Falcon), "falcon");
        Add(new(PreTokenizerKind.StarCoder), "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2");
        Add(new(PreTokenizerKind.StarCoder, CleanSpaces: false), "command-r", "smollm");
        Add(new(PreTokenizerKind.Gpt2),
            "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
            "modern-bert", "mpt", "olmo", "jais", "exaone4");
        Add(new(PreTokenizerKind.Gpt2, CleanSpaces: false), "trillion", "granite-docling");
        Add(new(PreTokenizerKind.Qwen2, CleanSpaces: false), "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2");
        Add(new(PreTokenizerKind.Qwen2), "stablelm2", "megrez");
        Add(new(PreTokenizerKind.Qwen2, CleanSpaces: false), "hunyuan", "solar-open");
        Add(new(PreTokenizerKind.Qwen35, CleanSpaces: false), "qwen35");
        Add(new(PreTokenizerKind.Lines, EscapeWhitespace: true, ByteEncode: false, AlwaysAddBos: true), "gemma4", "granite-embed-multi-311m");
        return rules;
    }
}
