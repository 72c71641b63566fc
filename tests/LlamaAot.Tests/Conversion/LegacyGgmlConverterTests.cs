using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// 2023 llama.cpp files written from the stories260K GGUFs convert back into them: F32/F16 models generate
/// llama.cpp's text, quantized ones give back the very blocks llama.cpp's quantizer made, whatever the layout
/// changes between the versions.
/// </summary>
public class LegacyGgmlConverterTests
{
    /// <summary>Llama 2's epsilon; the legacy files do not record it.</summary>
    private static readonly ConvertOptions Llama2 = new() { RmsEps = 1e-5f };

    public static TheoryData<uint, uint, string> Versions() => new()
    {
        { LegacyGgmlWriter.Ggml, 0, "ggml (unversioned) file" },
        { LegacyGgmlWriter.Ggmf, 1, "ggmf v1 file" },
        { LegacyGgmlWriter.Ggjt, 1, "ggjt v1 file" },
        { LegacyGgmlWriter.Ggjt, 2, "ggjt v2 file" },
        { LegacyGgmlWriter.Ggjt, 3, "ggjt v3 file" },
    };

    [Theory]
    [MemberData(nameof(Versions))]
    public void F32AndF16FilesGenerateLlamaCppsText(uint magic, uint version, string kind)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        foreach (string type in new[] { "F32", "F16" })
        {
            string legacy = dir.File($"{type}.bin"), output = dir.File($"{type}.gguf");
            LegacyGgmlWriter.Write(legacy, Shared.Stories260K(type), magic, version);
            var result = ModelConverter.Convert(legacy, output, Llama2);
            Assert.Equal(kind, result.SourceKind);
            ConvertFixture.AssertSameTensors(Shared.Stories260K(type), output);
            Assert.Equal(ConvertFixture.ReferenceText(type), ConvertFixture.GreedyText(output));
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void QuantizedBlocksComeBackInTodaysLayout(uint magic, uint version, string kind)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        // Q4_0 and Q4_1 changed nibble order in ggjt v2 and scale width in v3; Q8_0 changed scale width in v3.
        foreach (string type in new[] { "Q4_0", "Q4_1", "Q8_0" })
        {
            string legacy = dir.File($"{type}.bin"), output = dir.File($"{type}.gguf");
            LegacyGgmlWriter.Write(legacy, Shared.Stories260K(type), magic, version);
            Assert.Equal(kind, ModelConverter.Convert(legacy, output).SourceKind);
            ConvertFixture.AssertSameTensors(Shared.Stories260K(type), output);
            using var gguf = GgufFile.Open(output);
            using var reference = GgufFile.Open(Shared.Stories260K(type));
            Assert.Equal(reference.Metadata.GetInt32("general.file_type"), gguf.Metadata.GetInt32("general.file_type"));
        }
    }

    [Fact]
    [Trait("Category", "Golden")]
    public void Q5FilesOfGgjtV2AndLaterAreCopied()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        foreach (string type in new[] { "Q5_0", "Q5_1" })
        {
            string legacy = dir.File($"{type}.bin"), output = dir.File($"{type}.gguf");
            LegacyGgmlWriter.Write(legacy, Shared.Stories260K(type), LegacyGgmlWriter.Ggjt, 2);
            ModelConverter.Convert(legacy, output, Llama2);
            ConvertFixture.AssertSameTensors(Shared.Stories260K(type), output);
            Assert.Equal(ConvertFixture.ReferenceText(type), ConvertFixture.GreedyText(output));
        }
    }

    [Fact]
    public void OutTypeRequantizes()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("f32.bin"), output = dir.File("q8.gguf");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggjt, 3);
        ModelConverter.Convert(legacy, output, Llama2 with { OutType = OutType.Q8_0 });
        // The same blocks as llama.cpp's Q8_0 file, which quantized the same F32 weights with the same function.
        ConvertFixture.AssertSameTensors(Shared.Stories260K("Q8_0"), output);
    }

    [Fact]
    public void LoadingALegacyFileNamesTheConvertCommand()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("ggml-model-q4_0.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("Q4_0"), LegacyGgmlWriter.Ggjt, 3);
        var e = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(legacy));
        Assert.Contains("legacy GGJT file: convert it to GGUF with `llama-aot convert FILE OUT.gguf`", e.Message);
    }

    [Fact]
    public void OldQ5BitOrderIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("q5.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("Q5_0"), LegacyGgmlWriter.Ggjt, 1);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.Contains("of this ggjt v1 file is Q5_0 in the bit order of before ggjt v2 (llama.cpp PR 1405): not supported", e.Message);
    }

    [Fact]
    public void RetiredQ4_2IsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("q42.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggjt, 1, typeOverride: 4);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.EndsWith("is Q4_2, a type ggml retired in May 2023: not supported", e.Message);
    }

    [Fact]
    public void UnknownVersionIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("v4.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggjt, 4);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.Equal($"{legacy}: ggjt v4 is not a known legacy llama.cpp format (known: ggml, ggmf v1, ggjt v1-v3)", e.Message);
    }

    [Fact]
    public void BadMagicIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string bad = dir.File("bad.bin");
        File.WriteAllBytes(bad, [0x71, 0x71, 0x71, 0x71, 1, 0, 0, 0]);
        var e = Assert.Throws<ConversionException>(() => LegacyGgmlConverter.Convert(bad, dir.File("out.gguf")));
        Assert.Equal($"{bad}: bad magic 0x71717171: not a ggml, ggmf or ggjt file", e.Message);
        var gguf = Assert.Throws<ConversionException>(() => ModelConverter.Convert(Shared.Stories260K("F32"), dir.File("out.gguf")));
        Assert.Contains("is already a GGUF file", gguf.Message);
    }

    [Fact]
    public void TruncatedTensorIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("f32.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggjt, 3);
        byte[] bytes = File.ReadAllBytes(legacy);
        File.WriteAllBytes(legacy, bytes[..(bytes.Length - 10)]);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.Contains("truncated file: the data of tensor 'layers.4.ffn_norm.weight'", e.Message);
    }

    /// <summary>A corrupt tensor name (here 1,000 control characters) is quoted short and escaped: it was once quoted
    /// whole, 602 characters of binary in one error line.</summary>
    [Fact]
    public void CorruptTensorNameIsQuotedShort()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("f32.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggml, 0,
            rename: name => name == "norm.weight" ? new string('\u0001', 1000) : name);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.EndsWith($"tensor '{string.Concat(Enumerable.Repeat("\\x01", 16))}'... (1000 characters) has no place in a llama model", e.Message);
    }

    [Fact]
    public void TensorTwiceIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("f32.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggml, 0,
            rename: name => name == "layers.1.ffn_norm.weight" ? "layers.0.ffn_norm.weight" : name);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.Equal($"{legacy}: tensor 'layers.0.ffn_norm.weight' appears twice in the file", e.Message);
    }

    [Fact]
    public void VectorWhereAMatrixBelongsIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("f32.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggml, 0,
            rename: name => name switch
            {
                "layers.0.attention.wk.weight" => "layers.0.ffn_norm.weight",
                "layers.0.ffn_norm.weight" => "layers.0.attention.wk.weight",
                _ => name,
            });
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.Equal($"{legacy}: tensor 'layers.0.attention.wk.weight' has shape [64], not a matrix's", e.Message);
    }
}
