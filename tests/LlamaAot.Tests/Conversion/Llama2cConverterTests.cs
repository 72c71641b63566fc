using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>stories260K.bin + tok512.bin against llama.cpp's own conversion of them (stories260K-F32.gguf).</summary>
public class Llama2cConverterTests
{
    /// <summary>Keys whose values differ from llama.cpp's converter on purpose (see Llama2cConverter's summary).</summary>
    private static readonly string[] IntendedDifferences = ["llama.context_length", "general.name"];

    /// <summary>Keys llama-aot writes that llama.cpp's converter does not.</summary>
    private static readonly string[] AddedKeys = ["llama.rope.freq_base", "general.file_type"];

    [Fact]
    public void F32ConversionHasLlamaCppsTensorsAndVocabulary()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File("stories260K.gguf");
        var result = ModelConverter.Convert(ConvertFixture.Stories260KBin, output, new ConvertOptions { Vocabulary = ConvertFixture.Tok512 });
        Assert.Equal("llama2.c checkpoint", result.SourceKind);
        Assert.Equal(new FileInfo(output).Length, result.Bytes);

        string reference = Shared.Stories260K("F32");
        ConvertFixture.AssertSameTensors(reference, output);
        using var expected = GgufFile.Open(reference);
        using var actual = GgufFile.Open(output);
        Assert.Equal(expected.Tensors.Select(t => t.Name), actual.Tensors.Select(t => t.Name)); // same order too
        foreach (string key in expected.Metadata.Keys.Except(IntendedDifferences))
            Assert.True(SameValue(expected.Metadata[key], actual.Metadata[key]), $"metadata {key}: {expected.Metadata[key]} != {actual.Metadata[key]}");
        Assert.Equal(expected.Metadata.Keys.Order().ToArray(), actual.Metadata.Keys.Except(AddedKeys).Order().ToArray());
        Assert.Equal(128, expected.Metadata.GetInt32("llama.context_length"));
        Assert.Equal(512, actual.Metadata.GetInt32("llama.context_length")); // the checkpoint's seq_len
        Assert.Equal((int)LlamaFileType.AllF32, actual.Metadata.GetInt32("general.file_type"));
        Assert.Equal(10000f, actual.Metadata.GetSingle("llama.rope.freq_base"));
    }

    private static bool SameValue(GgufValue a, GgufValue b) =>
        a.Type == b.Type && (a.Value is GgufArray x && b.Value is GgufArray y
            ? x.ElementType == y.ElementType && x.Items.Cast<object>().SequenceEqual(y.Items.Cast<object>())
            : a.Value.Equals(b.Value));

    [Fact]
    public void F32ConversionGeneratesLlamaCppsText()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File("stories260K.gguf");
        Llama2cConverter.Convert(ConvertFixture.Stories260KBin, ConvertFixture.Tok512, output);
        Assert.Equal(ConvertFixture.ReferenceText("F32"), ConvertFixture.GreedyText(output));
    }

    [Theory]
    [InlineData(OutType.F16, "F16")]
    [InlineData(OutType.BF16, "BF16")]
    public void HalfConversionsEqualLlamaQuantizesFiles(OutType outType, string type)
    {
        // llama-quantize made stories260K-F16/BF16 from the F32 conversion: matrices rounded to nearest, norms F32.
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File($"stories260K-{type}.gguf");
        Llama2cConverter.Convert(ConvertFixture.Stories260KBin, ConvertFixture.Tok512, output, outType);
        ConvertFixture.AssertSameTensors(Shared.Stories260K(type), output);
        Assert.Equal(ConvertFixture.ReferenceText(type), ConvertFixture.GreedyText(output));
    }

    [Fact]
    public void Q8_0ConversionQuantizesMatricesAndKeepsNarrowRowsF16()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File("stories260K-Q8_0.gguf");
        Llama2cConverter.Convert(ConvertFixture.Stories260KBin, ConvertFixture.Tok512, output, OutType.Q8_0);
        using var actual = GgufFile.Open(output);
        using var q8 = GgufFile.Open(Shared.Stories260K("Q8_0"));
        // llama.cpp's Q8_0 file quantized every 64-wide matrix the same way (ggml's quantize_row_q8_0_ref); its
        // token_embd is Q8_0 too. ffn_down (172 wide) cannot be Q8_0 and is F16 in both.
        foreach (var t in q8.Tensors)
        {
            var mine = actual.FindTensor(t.Name)!;
            Assert.Equal(t.Type, mine.Type);
            Assert.True(q8.GetData(t).SequenceEqual(actual.GetData(mine)), $"tensor {t.Name} ({t.Type}) differs from llama.cpp's");
        }
        Assert.Equal((int)LlamaFileType.MostlyQ8_0, actual.Metadata.GetInt32("general.file_type"));
        Assert.Equal(2, actual.Metadata.GetInt32("general.quantization_version"));
    }

    [Fact]
    public void VocabularyCanBeCopiedFromAGguf()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = dir.File("stories260K.gguf");
        Llama2cConverter.Convert(ConvertFixture.Stories260KBin, Shared.Stories260K("Q4_0"), output);
        using var reference = GgufFile.Open(Shared.Stories260K("Q4_0"));
        using var actual = GgufFile.Open(output);
        Assert.Equal(reference.Metadata.GetArray<string>("tokenizer.ggml.tokens"), actual.Metadata.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(ConvertFixture.ReferenceText("F32"), ConvertFixture.GreedyText(output));
    }

    [Fact]
    public void NegativeVocabSizeMeansASeparateClassifier()
    {
        // run.c: a negative vocab_size says the classifier (wcls) follows the RoPE tables instead of being the
        // token embedding. Append one (the embedding halved) and flip the sign.
        using var dir = new ConvertFixture.ScratchDirectory();
        byte[] bin = File.ReadAllBytes(ConvertFixture.Stories260KBin);
        float[] embedding = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bin.AsSpan(28, 512 * 64 * 4)).ToArray();
        float[] classifier = embedding.Select(v => v / 2).ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bin.AsSpan(20), -512);
        string checkpoint = dir.File("unshared.bin"), output = dir.File("unshared.gguf");
        File.WriteAllBytes(checkpoint, [.. bin, .. System.Runtime.InteropServices.MemoryMarshal.AsBytes(classifier.AsSpan())]);
        Llama2cConverter.Convert(checkpoint, ConvertFixture.Tok512, output);
        using var gguf = GgufFile.Open(output);
        Assert.Equal(classifier, ConvertFixture.ReadFloats(gguf, "output.weight"));
        Assert.Equal(embedding, ConvertFixture.ReadFloats(gguf, "token_embd.weight"));
    }

    [Fact]
    public void TruncatedCheckpointIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string truncated = dir.File("truncated.bin");
        File.WriteAllBytes(truncated, File.ReadAllBytes(ConvertFixture.Stories260KBin)[..500_000]);
        var e = Assert.Throws<ConversionException>(() => Llama2cConverter.Convert(truncated, ConvertFixture.Tok512, dir.File("out.gguf")));
        Assert.Contains("is 1056540 bytes, but the file is 500000", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    /// <summary>vocab_size int.MinValue has no positive counterpart: its magnitude once overflowed (OverflowException,
    /// "internal error"; fuzz test, seed 2, case 507) before the check that refuses it.</summary>
    [Fact]
    public void VocabSizeOfInt32MinValueIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        byte[] bin = File.ReadAllBytes(ConvertFixture.Stories260KBin);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bin.AsSpan(20), int.MinValue);
        string checkpoint = dir.File("min.bin");
        File.WriteAllBytes(checkpoint, bin);
        var e = Assert.Throws<ConversionException>(() => Llama2cConverter.Convert(checkpoint, ConvertFixture.Tok512, dir.File("out.gguf")));
        Assert.Contains("vocab_size -2147483648", e.Message);
        Assert.Contains("has a value that is not positive", e.Message);
    }

    [Fact]
    public void TokenizerOfAnotherSizeIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string shortVocab = dir.File("tok.bin");
        File.WriteAllBytes(shortVocab, File.ReadAllBytes(ConvertFixture.Tok512)[..3000]);
        var e = Assert.Throws<ConversionException>(() => Llama2cConverter.Convert(ConvertFixture.Stories260KBin, shortVocab, dir.File("out.gguf")));
        Assert.Contains("truncated file", e.Message);
        Assert.Contains("tok.bin", e.Message);
    }

    [Fact]
    public void CheckpointWithoutVocabularyIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        var e = Assert.Throws<ArgumentException>(() => ModelConverter.Convert(ConvertFixture.Stories260KBin, dir.File("out.gguf")));
        Assert.Contains("--vocab", e.Message);
    }
}
