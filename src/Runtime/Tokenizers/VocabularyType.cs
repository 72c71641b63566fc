namespace LlamaAot.Tokenizers;

/// <summary>
/// How a vocabulary turns text into tokens, from GGUF's <c>tokenizer.ggml.model</c> (llama.cpp's
/// <c>enum llama_vocab_type</c>).
/// </summary>
public enum VocabularyType
{
    /// <summary>SentencePiece BPE (<c>llama</c>): Llama 1/2, Mistral v0.x, Phi-3, TinyLlama.</summary>
    Spm,

    /// <summary>Byte-level BPE with a pre-tokenizer (<c>gpt2</c>), and Gemma 4's SentencePiece-style BPE
    /// (<c>gemma4</c>): Llama 3, Qwen, GPT-2, DeepSeek, Falcon, StarCoder, Command-R, Gemma 4.</summary>
    Bpe,

    /// <summary>WordPiece (<c>bert</c>): BERT-style embedding models.</summary>
    Wpm,
}
