using System.Buffers.Binary;
using LlamaAot.Gguf;

namespace LlamaAot.Conversion;

/// <summary>Options of <see cref="ModelConverter.Convert"/>.</summary>
public sealed record ConvertOptions
{
    /// <summary>Type of the weight matrices; <see cref="OutType.Auto"/> keeps the source's (F32 for llama2.c).</summary>
    public OutType OutType { get; init; } = OutType.Auto;

    /// <summary>The tokenizer of a llama2.c checkpoint: its <c>tokenizer.bin</c>, or a GGUF to copy the vocabulary of.</summary>
    public string? Vocabulary { get; init; }

    /// <summary>Training context recorded for a legacy GGML file, which does not say.</summary>
    public int ContextLength { get; init; } = LegacyGgmlConverter.DefaultContextLength;

    /// <summary>RMSNorm epsilon recorded for a legacy GGML file, which does not say.</summary>
    public float RmsEps { get; init; } = LegacyGgmlConverter.DefaultRmsEps;
}

/// <summary>What a conversion read and wrote.</summary>
public sealed record ConversionResult(string SourceKind, string OutputPath, long Bytes);

/// <summary>
/// <c>llama-aot convert</c>: recognizes the source (a Hugging Face directory, a legacy GGML file by its magic, or
/// else a llama2.c checkpoint, which has none) and runs its converter.
/// </summary>
public static class ModelConverter
{
    /// <param name="source">A model directory, a legacy GGML file, or a llama2.c checkpoint.</param>
    /// <param name="output">The GGUF file to write: replaced whole, or left as it was by a failed conversion; never a
    /// device, a directory or one of the inputs (see <see cref="Files.AtomicOutputFile"/>).</param>
    public static ConversionResult Convert(string source, string output, ConvertOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(output);
        options ??= new ConvertOptions();
        if (options.Vocabulary is { } vocabulary && !File.Exists(vocabulary))
            throw new FileNotFoundException($"file not found: {vocabulary}", vocabulary);
        if (Directory.Exists(source))
        {
            RefuseVocabulary(options, "a Hugging Face directory carries its own tokenizer");
            return new("Hugging Face directory", output, HuggingFaceConverter.Convert(source, output, options.OutType));
        }
        if (!File.Exists(source))
            throw new FileNotFoundException($"file not found: {source}", source);

        uint magic = ReadMagic(source);
        if (magic == GgufFile.Magic)
            throw new ConversionException($"{source} is already a GGUF file: nothing to convert");
        if (LegacyGgmlConverter.IsLegacyMagic(magic))
        {
            RefuseVocabulary(options, "a GGML file carries its own vocabulary");
            return new(LegacyGgmlConverter.Describe(source), output,
                LegacyGgmlConverter.Convert(source, output, options.OutType, options.ContextLength, options.RmsEps));
        }
        if (options.Vocabulary is null)
            throw new ArgumentException(
                $"{source} is not a GGML file or a model directory, so it is read as a llama2.c checkpoint, which has no vocabulary: give its tokenizer with --vocab tokenizer.bin");
        return new("llama2.c checkpoint", output,
            Llama2cConverter.Convert(source, options.Vocabulary, output, options.OutType == OutType.Auto ? OutType.F32 : options.OutType));
    }

    private static void RefuseVocabulary(ConvertOptions options, string why)
    {
        if (options.Vocabulary is not null)
            throw new ArgumentException($"--vocab is for llama2.c checkpoints: {why}");
    }

    private static uint ReadMagic(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(magic) : 0;
    }
}
