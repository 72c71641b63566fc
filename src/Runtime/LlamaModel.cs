using LlamaAot.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Model;
using LlamaAot.Model.Architectures;
using LlamaAot.Tokenizers;

namespace LlamaAot;

/// <summary>
/// A loaded model: hyperparameters, vocabulary and weights (read in place from the memory-mapped GGUF file).
/// Immutable and shareable; create a <see cref="LlamaContext"/> (the engine) to run it, and sessions on it.
/// </summary>
/// <example>
/// <code>
/// using var model = LlamaModel.Load("stories260K-Q4_0.gguf");
/// using var context = model.CreateContext(new ContextOptions { ContextSize = 256 });
/// using var session = context.CreateSession();
/// foreach (string piece in session.Generate("Once upon a time", new GenerationOptions { MaxTokens = 64 }))
///     Console.Write(piece);
/// </code>
/// </example>
public sealed class LlamaModel : IDisposable
{
    private readonly GgufFile _file;

    private LlamaModel(GgufFile file, Vocabulary vocabulary, Architecture architecture, KernelIsa isa)
    {
        _file = file;
        Vocabulary = vocabulary;
        Tokenizer = new Tokenizer(vocabulary);
        Architecture = architecture;
        Isa = isa;
    }

    /// <summary>Opens a GGUF model file.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="GgufFormatException">The file is malformed, or lacks a tensor or key the model needs.</exception>
    /// <exception cref="NotSupportedException">An architecture, tokenizer or tensor type this build does not support.</exception>
    public static LlamaModel Load(string path, ModelOptions? options = null)
    {
        var isa = options?.Isa ?? KernelIsas.Best;
        if (!KernelIsas.IsSupported(isa) && isa != KernelIsa.Reference)
            throw new PlatformNotSupportedException($"this CPU cannot run the {isa} kernels");
        var file = GgufFile.Open(path);
        try
        {
            long total = SystemMemory.Total;
            if (file.Length > total)
                throw new InsufficientMemoryException(
                    $"the model file is {SystemMemory.GiB(file.Length)} but this machine has {SystemMemory.GiB(total)} of memory: use a smaller or more strongly quantized model");
            var vocabulary = Vocabulary.FromGguf(file.Metadata);
            var architecture = Architecture.Load(file, vocabulary.Count, isa);
            return new LlamaModel(file, vocabulary, architecture, isa);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public ModelConfig Config => Architecture.Config;
    public Vocabulary Vocabulary { get; }
    public Tokenizer Tokenizer { get; }

    /// <summary>The kernel path the weights were bound to.</summary>
    public KernelIsa Isa { get; }

    /// <summary>The file's metadata.</summary>
    public GgufMetadata Metadata => _file.Metadata;

    /// <summary>The model file's path and size.</summary>
    public string Path => _file.Path;

    public long FileSize => _file.Length;

    /// <summary>The model family's weights and forward pass.</summary>
    internal Architecture Architecture { get; }

    /// <summary>Bytes of tensor data (llama.cpp's "model size").</summary>
    public long TensorBytes => _file.Tensors.Sum(t => t.ByteSize);

    /// <summary>Number of weights (parameters) in the file's tensors.</summary>
    public long ParameterCount => _file.Tensors.Sum(t => t.ElementCount);

    /// <summary>Token ids of <paramref name="text"/>; BOS first when <paramref name="addSpecial"/> and the vocabulary adds it.</summary>
    public int[] Tokenize(string text, bool addSpecial = true, bool parseSpecial = false) =>
        Tokenizer.Encode(text, addSpecial, parseSpecial);

    /// <summary>Text of token ids, as llama.cpp detokenizes (special tokens removed by default).</summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = true) =>
        Tokenizer.Decode(tokens, removeSpecial, unparseSpecial: false);

    /// <summary>Creates an inference context (KV cache, buffers, threads).</summary>
    public LlamaContext CreateContext(ContextOptions? options = null) => new(this, options ?? new ContextOptions());

    /// <summary>For each weight matrix: its name, type, the kernels serving it and whether they are specialized.</summary>
    public IEnumerable<KernelChoice> KernelChoices() =>
        Architecture.Matrices().Select(m => new KernelChoice(m.Name, m.Format.Type, m.K, m.Kernels.GemvName, m.Kernels.GemmName, m.Kernels.Isa, m.Kernels.IsSpecialized));

    /// <summary>Bytes of weights copied into memory at load, repacked into interleaved rows where the kernels want them (held instead of the file's pages).</summary>
    public long RepackedBytes => Architecture.RepackedBytes;

    public void Dispose()
    {
        Architecture.Dispose();
        _file.Dispose();
    }
}

/// <summary>The kernels chosen for one weight tensor.</summary>
public sealed record KernelChoice(string Tensor, GgmlType Type, int K, string Gemv, string Gemm, KernelIsa Isa, bool Specialized);
