using LlamaAot.Gguf;
using LlamaAot.Kernels;

namespace LlamaAot.Model;

/// <summary>
/// Hands an architecture the tensors of a GGUF file by name and shape, and records every one it takes: required
/// ones are an error when absent, optional ones (biases, extra norms, an untied output) are null. Once the
/// architecture has bound what it uses, a tensor left over (one it would silently drop, such as llama3's
/// rope_freqs.weight in a build that ignored it) stops the load, named.
/// </summary>
internal sealed class TensorBinder(GgufFile file, string architecture, KernelIsa isa)
{
    private readonly HashSet<string> _bound = new(StringComparer.Ordinal);

    // Tables whose rows are looked up keep the file's pages even when a product repacks a copy of the same tensor.
    private readonly HashSet<string> _lookedUp = new(StringComparer.Ordinal);

    public bool Contains(string name) => file.FindTensor(name) is not null;

    /// <summary>A weight matrix [k, rows] (ggml order) that takes part in products.</summary>
    public WeightMatrix Matrix(string name, int k, int rows) =>
        WeightMatrix.Load(file, Bind(name), k, rows, isa, allowRepack: true, releaseFile: !_lookedUp.Contains(name));

    public WeightMatrix? OptionalMatrix(string name, int k, int rows) => Contains(name) ? Matrix(name, k, rows) : null;

    /// <summary>A table [k, rows] whose rows are looked up (token embeddings): it keeps the file's layout.</summary>
    public WeightMatrix LookupTable(string name, int k, int rows)
    {
        _lookedUp.Add(name);
        return WeightMatrix.Load(file, Bind(name), k, rows, isa, allowRepack: false, releaseFile: false);
    }

    /// <summary>A 1-D tensor of <paramref name="length"/> values, as floats (norm weights, rope factors).</summary>
    public float[] Vector(string name, int length) => WeightMatrix.LoadVector(file, Bind(name), length);

    public float[]? OptionalVector(string name, int length) => Contains(name) ? Vector(name, length) : null;

    /// <summary>
    /// Checks <c>{arch}.block_count</c> against the tensors before anything is sized from it, so an absurd count is
    /// an error, not an allocation: the last block's <paramref name="probe"/> tensor must exist.
    /// </summary>
    public void RequireBlocks(int nLayer, string probe)
    {
        if (Contains($"blk.{nLayer - 1}.{probe}"))
            return;
        int blocks = 0;
        while (Contains($"blk.{blocks}.{probe}"))
            blocks++;
        throw new GgufFormatException(
            $"{architecture}.block_count {nLayer}, but the file holds the tensors of {blocks} blocks{(blocks > 0 ? $" (blk.0 to blk.{blocks - 1})" : "")}");
    }

    /// <summary>Throws naming the first tensor of the file that the architecture did not bind.</summary>
    public void RejectUnbound()
    {
        var left = file.Tensors.Where(t => !_bound.Contains(t.Name)).Select(t => t.Name).ToList();
        if (left.Count > 0)
            throw new NotSupportedException(
                $"tensor '{left[0]}'{(left.Count > 1 ? $" (and {left.Count - 1} more)" : "")} is not used by llama-aot's {architecture} architecture; ignoring it would compute the wrong logits, so the model is not loaded");
    }

    private string Bind(string name)
    {
        _bound.Add(name);
        return name;
    }

    /// <summary>
    /// What every family has around its blocks: the token embeddings [nEmbd, nVocab] (rows looked up),
    /// output_norm.weight [nEmbd] and the output matrix [nEmbd, nVocab]: output.weight when the file has one and the
    /// family may (<paramref name="alwaysTied"/> false), else the embeddings again.
    /// </summary>
    public (WeightMatrix TokenEmbedding, float[] OutputNorm, WeightMatrix Output) EmbeddingsAndOutput(ModelConfig c, bool alwaysTied = false)
    {
        // The embedding table before the output: a tied output repacks a copy without releasing the table's pages.
        var tokenEmbedding = LookupTable("token_embd.weight", c.NEmbd, c.NVocab);
        var outputNorm = Vector("output_norm.weight", c.NEmbd);
        var output = (alwaysTied ? null : OptionalMatrix("output.weight", c.NEmbd, c.NVocab)) ?? Matrix("token_embd.weight", c.NEmbd, c.NVocab);
        return (tokenEmbedding, outputNorm, output);
    }
}
