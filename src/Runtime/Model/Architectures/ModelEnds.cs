namespace LlamaAot.Model.Architectures;

/// <summary>
/// The two ends most families share: the token embedding table, whose rows are looked up, and the final RMSNorm
/// and output product, which uses the embeddings when <c>output.weight</c> is absent (tied, as llama.cpp's
/// TENSOR_DUPLICATED token_embd).
/// </summary>
internal sealed unsafe class ModelEnds
{
    private ModelEnds(WeightMatrix tokenEmbedding, float[] outputNorm, WeightMatrix output)
    {
        TokenEmbedding = tokenEmbedding;
        OutputNorm = outputNorm;
        Output = output;
    }

    public WeightMatrix TokenEmbedding { get; } // [nEmbd, nVocab]: rows are looked up, not multiplied
    public float[] OutputNorm { get; }          // [nEmbd]
    public WeightMatrix Output { get; }         // [nEmbd, nVocab]; token_embd when tied

    /// <summary>Binds token_embd.weight, output_norm.weight and the optional output.weight.</summary>
    public static ModelEnds Bind(ModelConfig c, TensorBinder b)
    {
        // The embedding table before the output: a tied output repacks a copy without releasing the table's pages.
        var tokenEmbedding = b.LookupTable("token_embd.weight", c.NEmbd, c.NVocab);
        var outputNorm = b.Vector("output_norm.weight", c.NEmbd);
        var output = b.OptionalMatrix("output.weight", c.NEmbd, c.NVocab) ?? b.Matrix("token_embd.weight", c.NEmbd, c.NVocab);
        return new ModelEnds(tokenEmbedding, outputNorm, output);
    }

    /// <summary>
    /// The logits [rows, nVocab] of the tokens of <paramref name="batch"/> that want them, from the residual stream
    /// <paramref name="x"/> after the last block: Wout (rmsnorm(x) * output_norm). Valid until the next pass.
    /// </summary>
    public ReadOnlySpan<float> Logits(ForwardState s, UBatch batch, float* x)
    {
        int rows = s.KeepLogitRows(x, batch);                                 // the rows whose logits are wanted
        if (rows == 0)
            return default;
        s.Norm(x, s.Xb, OutputNorm, rows);                                    // xb = rmsnorm(x) * output_norm
        s.MatMul.Run(s.Xb, rows, new MatMulTarget(Output, s.Logits));         // logits = Wout xb
        return new ReadOnlySpan<float>(s.Logits, rows * Output.Rows);
    }
}
