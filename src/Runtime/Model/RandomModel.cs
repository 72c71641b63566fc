using LlamaAot.Conversion;
using LlamaAot.Gguf;
using LlamaAot.Quants;
using LlamaAot.Sampling;

namespace LlamaAot.Model;

/// <summary>The dimensions of a llama model, for writing test and benchmark models.</summary>
public sealed record LlamaShape(int NEmbd, int NLayer, int NHead, int NHeadKv, int NFf, int NCtxTrain = 2048)
{
    /// <summary>TinyLlama-1.1B's shape (the benchmark shape of the speed issue).</summary>
    public static LlamaShape TinyLlama { get; } = new(2048, 22, 32, 4, 5632);
}

/// <summary>
/// Writes llama-architecture GGUF files with random weights at any shape: i.i.d. normal weights (seeded, so the
/// same arguments give the same bytes), RMSNorm weights of exactly 1, and the tokenizer of an existing GGUF. Like the
/// shared random-e256 models, their outputs are noise: they exist to compare numbers with llama.cpp and to measure
/// speed at real shapes. Tensors are streamed, one row at a time, so a multi-gigabyte model needs little memory.
/// </summary>
public static class RandomModel
{
    /// <summary>Writes the model and returns the file size.</summary>
    /// <param name="path">Output file.</param>
    /// <param name="shape">Model dimensions.</param>
    /// <param name="type">Type of every 2-D weight (quantized with llama-aot's reference quantizer).</param>
    /// <param name="vocabularySource">A GGUF whose tokenizer.* metadata is copied (its vocabulary size is the model's).</param>
    /// <param name="seed">Seed of the weights.</param>
    /// <param name="std">Standard deviation of the weights.</param>
    /// <param name="outputType">Type of output.weight, if different.</param>
    public static long Write(string path, LlamaShape shape, GgmlType type, string vocabularySource, int seed = 1, float std = 0.02f, GgmlType? outputType = null)
    {
        var format = Formats.Get(type);
        using var vocab = GgufFile.Open(vocabularySource);
        var tokens = vocab.Metadata.GetArray<string>("tokenizer.ggml.tokens")
            ?? throw new GgufFormatException($"{vocabularySource} has no tokenizer.ggml.tokens");
        int nVocab = tokens.Length, headDim = shape.NEmbd / shape.NHead;
        var writer = new GgufWriter();
        LlamaGgufMetadata.AddHyperparameters(writer, $"random-{shape.NEmbd}x{shape.NLayer}-{type}",
            new LlamaHyperparameters(shape.NCtxTrain, shape.NEmbd, shape.NLayer, shape.NFf, shape.NHead, shape.NHeadKv, headDim, 1e-5f));
        if (LlamaFileTypes.Pure(type) is { } fileType)
            LlamaGgufMetadata.AddFileType(writer, fileType);
        LlamaGgufMetadata.CopyVocabulary(writer, vocab.Metadata);

        void Matrix(string name, int k, int rows, WeightFormat f) =>
            writer.AddTensor(name, [k, rows], f.Type, stream => WriteRandomRows(stream, f, name, k, rows, seed, std));
        void Norm(string name) => writer.AddTensor(name, [shape.NEmbd], Enumerable.Repeat(1f, shape.NEmbd).ToArray());

        Matrix("token_embd.weight", shape.NEmbd, nVocab, format);
        Norm("output_norm.weight");
        Matrix("output.weight", shape.NEmbd, nVocab, outputType is { } o ? Formats.Get(o) : format);
        int qDim = shape.NHead * headDim, kvDim = shape.NHeadKv * headDim;
        for (int i = 0; i < shape.NLayer; i++)
        {
            string p = $"blk.{i}.";
            Norm(p + "attn_norm.weight");
            Matrix(p + "attn_q.weight", shape.NEmbd, qDim, format);
            Matrix(p + "attn_k.weight", shape.NEmbd, kvDim, format);
            Matrix(p + "attn_v.weight", shape.NEmbd, kvDim, format);
            Matrix(p + "attn_output.weight", qDim, shape.NEmbd, format);
            Norm(p + "ffn_norm.weight");
            Matrix(p + "ffn_gate.weight", shape.NEmbd, shape.NFf, format);
            Matrix(p + "ffn_up.weight", shape.NEmbd, shape.NFf, format);
            Matrix(p + "ffn_down.weight", shape.NFf, shape.NEmbd, format);
        }
        return writer.WriteTo(path);
    }

    private static void WriteRandomRows(Stream stream, WeightFormat format, string name, int k, int rows, int seed, float std)
    {
        var random = new Xoshiro256StarStar(unchecked((uint)seed * 2654435761u ^ (uint)StableHash(name)));
        var values = new float[k];
        var bytes = new byte[format.RowBytes(k)];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < k; i += 2)
            {
                // Box-Muller: two normal values from two uniform ones in (0, 1].
                double u1 = 1.0 - (random.NextUInt64() >> 11) * (1.0 / (1UL << 53));
                double u2 = (random.NextUInt64() >> 11) * (1.0 / (1UL << 53));
                double radius = std * Math.Sqrt(-2 * Math.Log(u1));
                values[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
                if (i + 1 < k)
                    values[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
            }
            format.QuantizeFast(values, bytes);
            stream.Write(bytes);
        }
    }

    /// <summary>FNV-1a: a string hash that, unlike string.GetHashCode, is the same in every process.</summary>
    private static int StableHash(string s)
    {
        uint h = 2166136261;
        foreach (char c in s)
            h = (h ^ c) * 16777619;
        return (int)h;
    }
}
