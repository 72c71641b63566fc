namespace LlamaAot.Tokenizers;

/// <summary>
/// The regex lists of llama.cpp 0.5.0's <c>llm_tokenizer_bpe</c> constructor (src/llama-vocab.cpp), one value per
/// distinct list; <see cref="PreTokenizer.Split"/> splits text as that list does. Named beside each: the llama.cpp
/// pre-tokenizer types (<c>LLAMA_VOCAB_PRE_TYPE_*</c>, lower-cased) whose list it is; which <c>tokenizer.ggml.pre</c>
/// strings give which type is the vocabulary's business.
/// </summary>
internal enum PreTokenizerKind
{
    /// <summary>The <c>default:</c> list (any other type): punctuation runs, then GPT-2's pattern, digit runs, digit triples.</summary>
    Default,
    /// <summary>llama3 (also dbrx, smaug): Llama 3's pattern (digits in threes).</summary>
    Llama3,
    /// <summary>qwen2 (also stablelm2, hunyuan, solar_open): Llama 3's pattern with single digits.</summary>
    Qwen2,
    /// <summary>qwen35: Qwen 2's pattern with combining marks (<c>\p{M}</c>) inside letter runs.</summary>
    Qwen35,
    /// <summary>gpt2 (also mpt, olmo, jais, trillion, granite_docling): GPT-2's pattern.</summary>
    Gpt2,
    /// <summary>deepseek_llm: line breaks, Latin/Greek/Cyrillic... letter runs, ASCII and CJK punctuation,
    /// trailing whitespace, CJK/Hangul runs, digit runs.</summary>
    DeepSeekLlm,
    /// <summary>deepseek_coder: line breaks, letter runs, punctuation runs, CJK/Hangul runs, single digits.</summary>
    DeepSeekCoder,
    /// <summary>falcon: punctuation runs, GPT-2's pattern, digit triples.</summary>
    Falcon,
    /// <summary>starcoder (also refact, command-r, smollm, codeshell, exaone, minerva, mellum2): single
    /// digits, then GPT-2's pattern.</summary>
    StarCoder,
    /// <summary>gemma4 (also sarvam_moe): runs of line feeds and runs of anything else.</summary>
    Lines,
}
