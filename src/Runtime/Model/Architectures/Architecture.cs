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
        ("qwen2", Qwen2.Bind),
        ("qwen3", Qwen3.Bind),
        ("phi3", Phi3.Bind),
        ("gemma2", Gemma2.Bind),
        ("gemma3", Gemma3.Bind),
        ("smollm3", Llama.BindSmolLM3),
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

    /// <summary>Binds every block with <paramref name="bind"/>("blk.{i}."), once block_count is checked against the file.</summary>
    protected static T[] BindBlocks<T>(ModelConfig c, TensorBinder b, Func<string, T> bind)
    {
        b.RequireBlocks(c.NLayer, "attn_norm.weight");
        var blocks = new T[c.NLayer];
        for (int i = 0; i < c.NLayer; i++)
            blocks[i] = bind($"blk.{i}.");
        return blocks;
    }

    /// <summary>
    /// The tensors at both ends of the stack, named alike in every family (llama.cpp's tok_embd, output_norm, output,
    /// output_b): the embedding table, the final norm, the output projection, which is the embedding table itself
    /// when <c>output.weight</c> is absent (tied), and the output bias where the family declares one.
    /// </summary>
    protected sealed record Ends(
        WeightMatrix TokenEmbedding,  // [nEmbd, nVocab]: rows are looked up, not multiplied
        float[] OutputNorm,           // [nEmbd]
        WeightMatrix Output,          // [nEmbd, nVocab]; token_embd when tied
        float[]? OutputBias)          // [nVocab]
    {
        /// <summary>
        /// Binds the ends; <c>output.bias</c> is bound (when present) only for a family that declares it, and
        /// <c>output.weight</c> is not bound at all (so it is refused) for a family whose output is always tied.
        /// </summary>
        public static Ends Bind(ModelConfig c, TensorBinder b, bool outputBias = false, bool alwaysTied = false)
        {
            // The embedding table before the output: a tied output repacks a copy without releasing the table's pages.
            var tokenEmbedding = b.LookupTable("token_embd.weight", c.NEmbd, c.NVocab);
            var outputNorm = b.Vector("output_norm.weight", c.NEmbd);
            var output = (alwaysTied ? null : b.OptionalMatrix("output.weight", c.NEmbd, c.NVocab)) ?? b.Matrix("token_embd.weight", c.NEmbd, c.NVocab);
            return new Ends(tokenEmbedding, outputNorm, output, outputBias ? b.OptionalVector("output.bias", c.NVocab) : null);
        }

        /// <summary>
        /// The logits of the tokens of <paramref name="batch"/> that want them, from the residual stream after the last
        /// block: [rows, nVocab] in batch order, in <see cref="ForwardState.Logits"/>.
        /// </summary>
        public unsafe ReadOnlySpan<float> Logits(ForwardState s, UBatch batch)
        {
            int rows = s.KeepLogitRows(s.X, batch);                           // the rows whose logits are wanted
            if (rows == 0)
                return default;
            s.Norm(s.X, s.Xb, OutputNorm, rows);                              // xb = rmsnorm(x) * output_norm
            s.MatMul.Run(s.Xb, rows, new MatMulTarget(Output, s.Logits));     // logits = Wout xb
            s.AddBias(s.Logits, OutputBias, rows);                            // logits += output.bias
            return new ReadOnlySpan<float>(s.Logits, rows * Output.Rows);
        }
    }

    /// <summary>A block's separate attention projections (llama.cpp's wq, wk, wv, wo). Shapes in ggml order [K, rows].</summary>
    protected sealed record AttentionProjections(
        WeightMatrix Wq,  // [nEmbd, nHead*headDim]
        WeightMatrix Wk,  // [nEmbd, nHeadKv*headDim]
        WeightMatrix Wv,  // [nEmbd, nHeadKv*headDim]
        WeightMatrix Wo)  // [nHead*headDim, nEmbd]
    {
        /// <summary>Binds <c>{block}attn_q.weight</c>, <c>attn_k</c>, <c>attn_v</c> and <c>attn_output</c>.</summary>
        public static AttentionProjections Bind(ModelConfig c, TensorBinder b, string block) => new(
            b.Matrix(block + "attn_q.weight", c.NEmbd, c.QDim),
            b.Matrix(block + "attn_k.weight", c.NEmbd, c.KvDim),
            b.Matrix(block + "attn_v.weight", c.NEmbd, c.KvDim),
            b.Matrix(block + "attn_output.weight", c.QDim, c.NEmbd));

        public IEnumerable<WeightMatrix> Matrices => [Wq, Wk, Wv, Wo];
    }

    /// <summary>
    /// A block's gated feed-forward (llama.cpp's ffn_gate, ffn_up, ffn_down): down(act(gate x) * up x), SwiGLU in
    /// llama and Qwen. Shapes in ggml order [K, rows].
    /// </summary>
    protected sealed record GatedFeedForward(
        WeightMatrix Gate,  // [nEmbd, nFf]  (w1)
        WeightMatrix Up,    // [nEmbd, nFf]  (w3)
        WeightMatrix Down)  // [nFf, nEmbd]  (w2)
    {
        /// <summary>Binds <c>{block}ffn_gate.weight</c>, <c>ffn_up</c> and <c>ffn_down</c>.</summary>
        public static GatedFeedForward Bind(ModelConfig c, TensorBinder b, string block) => new(
            b.Matrix(block + "ffn_gate.weight", c.NEmbd, c.NFf),
            b.Matrix(block + "ffn_up.weight", c.NEmbd, c.NFf),
            b.Matrix(block + "ffn_down.weight", c.NFf, c.NEmbd));

        public IEnumerable<WeightMatrix> Matrices => [Gate, Up, Down];
    }
}
