using LlamaAot.Gguf;
using LlamaAot.Kernels;

namespace LlamaAot.Model;

/// <summary>The weights of one transformer block. Shapes in ggml order [K, rows].</summary>
internal sealed class LayerWeights
{
    public required float[] AttnNorm { get; init; }   // [nEmbd]
    public required WeightMatrix Wq { get; init; }    // [nEmbd, nHead*headDim]
    public required WeightMatrix Wk { get; init; }    // [nEmbd, nHeadKv*headDim]
    public required WeightMatrix Wv { get; init; }    // [nEmbd, nHeadKv*headDim]
    public required WeightMatrix Wo { get; init; }    // [nHead*headDim, nEmbd]
    public required float[] FfnNorm { get; init; }    // [nEmbd]
    public required WeightMatrix Gate { get; init; }  // [nEmbd, nFf]  (w1)
    public required WeightMatrix Up { get; init; }    // [nEmbd, nFf]  (w3)
    public required WeightMatrix Down { get; init; }  // [nFf, nEmbd]  (w2)
}

/// <summary>
/// All weights of a llama model, as views into the memory-mapped GGUF file (norm vectors, which are tiny, are
/// copied as floats). Tensor names are llama.cpp's.
/// </summary>
internal sealed class LlamaWeights : IDisposable
{
    public required WeightMatrix TokenEmbedding { get; init; } // [nEmbd, nVocab]: rows are looked up, not multiplied
    public required LayerWeights[] Layers { get; init; }
    public required float[] OutputNorm { get; init; }          // [nEmbd]
    public required WeightMatrix Output { get; init; }         // [nEmbd, nVocab]; token_embd when tied

    public static LlamaWeights Load(GgufFile file, LlamaConfig c, KernelIsa isa)
    {
        int qDim = c.NHead * c.HeadDim;
        // block_count sizes the layer array: held against the tensors first, so an absurd count is an error, not an allocation.
        if (file.FindTensor($"blk.{c.NLayer - 1}.attn_norm.weight") is null)
        {
            int blocks = 0;
            while (file.FindTensor($"blk.{blocks}.attn_norm.weight") is not null)
                blocks++;
            throw new GgufFormatException(
                $"{c.Architecture}.block_count {c.NLayer}, but the file holds the tensors of {blocks} blocks{(blocks > 0 ? $" (blk.0 to blk.{blocks - 1})" : "")}");
        }
        var layers = new LayerWeights[c.NLayer];
        for (int i = 0; i < c.NLayer; i++)
        {
            string p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttnNorm = WeightMatrix.LoadVector(file, p + "attn_norm.weight", c.NEmbd),
                Wq = WeightMatrix.Load(file, p + "attn_q.weight", c.NEmbd, qDim, isa),
                Wk = WeightMatrix.Load(file, p + "attn_k.weight", c.NEmbd, c.KvDim, isa),
                Wv = WeightMatrix.Load(file, p + "attn_v.weight", c.NEmbd, c.KvDim, isa),
                Wo = WeightMatrix.Load(file, p + "attn_output.weight", qDim, c.NEmbd, isa),
                FfnNorm = WeightMatrix.LoadVector(file, p + "ffn_norm.weight", c.NEmbd),
                Gate = WeightMatrix.Load(file, p + "ffn_gate.weight", c.NEmbd, c.NFf, isa),
                Up = WeightMatrix.Load(file, p + "ffn_up.weight", c.NEmbd, c.NFf, isa),
                Down = WeightMatrix.Load(file, p + "ffn_down.weight", c.NFf, c.NEmbd, isa),
            };
        }
        // Embedding rows are looked up, so that table keeps the file's layout; a tied output matrix is the same
        // tensor loaded a second time, free to be repacked for its products.
        return new LlamaWeights
        {
            TokenEmbedding = WeightMatrix.Load(file, "token_embd.weight", c.NEmbd, c.NVocab, isa, allowRepack: false),
            Layers = layers,
            OutputNorm = WeightMatrix.LoadVector(file, "output_norm.weight", c.NEmbd),
            Output = WeightMatrix.Load(file, file.FindTensor("output.weight") is null ? "token_embd.weight" : "output.weight", c.NEmbd, c.NVocab, isa),
        };
    }

    /// <summary>Every matrix that takes part in products, in forward order (for --verbose kernel reports).</summary>
    public IEnumerable<WeightMatrix> Matrices()
    {
        foreach (var l in Layers)
        {
            yield return l.Wq;
            yield return l.Wk;
            yield return l.Wv;
            yield return l.Wo;
            yield return l.Gate;
            yield return l.Up;
            yield return l.Down;
        }
        yield return Output;
    }

    /// <summary>Bytes of repacked weight copies held in memory.</summary>
    public long RepackedBytes => Matrices().Sum(m => m.RepackedBytes);

    public void Dispose()
    {
        foreach (var m in Matrices())
            m.Dispose();
    }
}
