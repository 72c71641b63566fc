using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>The vocabularies the tokenizer tests run against, each loaded once per test run.</summary>
internal static class TestVocabularies
{
    private static readonly Lazy<Tokenizer> s_stories260K = new(() => Load(Shared.Stories260K("F32")));
    private static readonly Lazy<Tokenizer> s_llamaSpm = new(() => Load(LlamaSpmPath));
    private static readonly Lazy<Tokenizer> s_phi3 = new(() => Load(Phi3Path));

    /// <summary>llama.cpp's Llama-2 SPM test vocabulary (b4748 snapshot), with its .inp/.out vectors beside it.</summary>
    public static string LlamaSpmPath => Path.Combine(Shared.Reference, "vocab", "ggml-vocab-llama-spm.gguf");

    /// <summary>Phi-3's SPM vocabulary (from a newer llama.cpp), with .inp/.out vectors beside it.</summary>
    public static string Phi3Path => Path.Combine(Shared.Reference, "tokenizers", "ggml-vocab-phi-3.gguf");

    /// <summary>stories260K: 512 tokens, BOS 1, EOS 2, UNK 0, byte tokens 3..258.</summary>
    public static Tokenizer Stories260K => s_stories260K.Value;

    public static Tokenizer LlamaSpm => s_llamaSpm.Value;

    public static Tokenizer Phi3 => s_phi3.Value;

    private static readonly Dictionary<string, Lazy<Tokenizer>> s_reference = ReferenceNames.ToDictionary(
        name => name, name => new Lazy<Tokenizer>(() => Load(ReferencePath(name))));

    /// <summary>The vocabularies of <c>reference/tokenizers</c> (llama.cpp 0.5.0), by the name in their file name.</summary>
    public static string[] ReferenceNames =>
    [
        "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe",
        "llama-spm", "mpt", "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ];

    public static string ReferencePath(string name) => Path.Combine(Shared.Reference, "tokenizers", $"ggml-vocab-{name}.gguf");

    /// <summary>A vocabulary of <c>reference/tokenizers</c>, loaded once per test run.</summary>
    public static Tokenizer Reference(string name) => s_reference[name].Value;

    public static Tokenizer Load(string ggufPath)
    {
        using var file = GgufFile.Open(ggufPath);
        return new Tokenizer(Vocabulary.FromGguf(file.Metadata));
    }
}
