namespace LlamaAot.Tokenizers;

/// <summary>
/// The regex lists of llama.cpp 0.5.0's <c>llm_tokenizer_bpe</c> constructor (src/llama-vocab.cpp), one value per
/// distinct list; <see cref="PreTokenizer.Split"/> splits text as that list does. The <c>tokenizer.ggml.pre</c>
/// values named are those whose list it is.
/// </summary>
internal enum PreTokenizerKind
{
    /// <summary>The <c>default:</c> list: punctuation runs, then GPT-2's pattern, digit runs, digit triples.</summary>
    Default,
    /// <summary><c>llama-bpe</c> (also dbrx, smaug): Llama 3's pattern (digits in threes).</summary>
    Llama3,
    /// <summary><c>qwen2</c> (also stablelm2, hunyuan, solar-open): Llama 3's pattern with single digits.</summary>
    Qwen2,
    /// <summary><c>qwen35</c>: Qwen 2's pattern with combining marks (<c>\p{M}</c>) inside letter runs.</summary>
    Qwen35,
    /// <summary><c>gpt-2</c> (also mpt, olmo, jais, trillion, granite-docling): GPT-2's pattern.</summary>
    Gpt2,
    /// <summary><c>deepseek-llm</c>: line breaks, Latin/Greek/Cyrillic... letter runs, ASCII and CJK punctuation,
    /// trailing whitespace, CJK/Hangul runs, digit runs.</summary>
    DeepSeekLlm,
    /// <summary><c>deepseek-coder</c>: line breaks, letter runs, punctuation runs, CJK/Hangul runs, single digits.</summary>
    DeepSeekCoder,
    /// <summary><c>falcon</c>: punctuation runs, GPT-2's pattern, digit triples.</summary>
    Falcon,
    /// <summary><c>starcoder</c> (also refact, command-r, smollm, codeshell, exaone, minerva, mellum2): single
    /// digits, then GPT-2's pattern.</summary>
    StarCoder,
    /// <summary><c>gemma4</c> (also sarvam-moe): runs of line feeds and runs of anything else.</summary>
    Lines,
}
