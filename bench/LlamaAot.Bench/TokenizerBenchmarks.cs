using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Bench;

/// <summary>
/// Tokenizing the 1 MB texts of the speed check in process (issue 11): one <see cref="Tokenizer.Encode(ReadOnlySpan{byte}, bool, bool)"/>
/// call per operation, BOS as the vocabulary says, special tokens parsed (as llama-tokenize), with allocations.
/// Needs LLAMA_AOT_TOKENIZER_CORPUS=DIR with DIR/english.txt and DIR/mixed.txt from bench/tokenizer-corpus.py;
/// the vocabularies are ../shared/reference/tokenizers/ggml-vocab-NAME.gguf.
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private Tokenizer _tokenizer = null!;
    private byte[] _text = [];

    [Params("llama-bpe", "qwen2")]
    public string Vocabulary { get; set; } = "llama-bpe";

    [Params("english", "mixed")]
    public string Text { get; set; } = "english";

    [GlobalSetup]
    public void Setup()
    {
        string corpus = Environment.GetEnvironmentVariable("LLAMA_AOT_TOKENIZER_CORPUS")
            ?? throw new InvalidOperationException("set LLAMA_AOT_TOKENIZER_CORPUS to the output directory of bench/tokenizer-corpus.py");
        using var file = GgufFile.Open(Path.Combine(SharedDirectory(), "reference", "tokenizers", $"ggml-vocab-{Vocabulary}.gguf"));
        _tokenizer = new Tokenizer(LlamaAot.Tokenizers.Vocabulary.FromGguf(file.Metadata));
        _text = File.ReadAllBytes(Path.Combine(corpus, Text + ".txt"));
    }

    [Benchmark]
    public int Encode() => _tokenizer.Encode(_text, addSpecial: true, parseSpecial: true).Length;

    /// <summary>../shared beside the checkout, found by walking up to llama-aot.slnx.</summary>
    private static string SharedDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "llama-aot.slnx")))
                return Path.Combine(dir.FullName, "..", "shared");
        }
        throw new DirectoryNotFoundException("llama-aot.slnx not found above " + AppContext.BaseDirectory);
    }

    private sealed class Config : ManualConfig
    {
        public Config() =>
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(1).WithIterationCount(5));
    }
}
