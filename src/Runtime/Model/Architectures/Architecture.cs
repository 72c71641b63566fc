using LlamaAot.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Kernels;

namespace LlamaAot.Model.Architectures;

/// <summary>
/// A model family as llama-aot runs it: the tensors it binds (and which of them are optional), the metadata keys it
/// reads beyond the shared ones, and its forward pass. One file per family in Architectures/, listed once in
/// <see cref="Registry"/>; what every family shares (buffers, KV cache, products, attention, threads) is
/// <see cref="ForwardState"/>.
/// </summary>
internal abstract class Architecture : IDisposable
{
    /// <summary>The <c>general.architecture</c> values this build runs, each with the family that binds its tensors.</summary>
    private static readonly (string Name, Func<ModelConfig, ArchitectureKeys, TensorBinder, Architecture> Bind)[] Registry =
    [
        ("llama", Llama.Bind),
        ("mistral", Llama.Bind), // Mistral GGUFs written by older converters say "mistral" for the llama graph
        ("gemma2", Gemma2.Bind),
        ("gemma3", Gemma3.Bind),
    ];

    public static IEnumerable<string> Names => Registry.Select(r => r.Name);

    protected Architecture(ModelConfig config) => Config = config;

    public ModelConfig Config { get; }

    /// <summary>
    /// Reads the model's config and binds its tensors. Fails on an architecture this build does not run, on a
    /// metadata key of the architecture that nothing understood, and on a tensor that nothing bound.
    /// </summary>
    public static Architecture Load(GgufFile file, int nVocab, KernelIsa isa)
    {
        string name = file.Metadata.GetString("general.architecture") ?? throw new GgufFormatException("missing metadata key 'general.architecture'");
        var bind = Array.Find(Registry, r => r.Name == name).Bind
            ?? throw new NotSupportedException($"model architecture {Excerpt.Quote(name)} is not supported (supported: {string.Join(", ", Names)})");
        var keys = new ArchitectureKeys(file.Metadata, name);
        var config = ModelConfig.FromGguf(keys, nVocab);
        var binder = new TensorBinder(file, name, isa);
        var model = bind(config, keys, binder);
        try
        {
            keys.RejectUnread();
            binder.RejectUnbound();
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>
    /// Runs the tokens of <paramref name="batch"/>, each at its position in its sequence (the cache holds the earlier
    /// positions of each), and returns the logits of those that want them: [batch.LogitRows, nVocab], in batch order.
    /// Valid until the next call.
    /// </summary>
    public abstract ReadOnlySpan<float> Forward(ForwardState s, UBatch batch);

    /// <summary>Every matrix that takes part in products, in forward order (for --verbose kernel reports).</summary>
    public abstract IEnumerable<WeightMatrix> Matrices();

    /// <summary>Bytes of repacked weight copies held in memory.</summary>
    public long RepackedBytes => Matrices().Sum(m => m.RepackedBytes);

    public void Dispose()
    {
        foreach (var m in Matrices())
            m.Dispose();
    }
}
