using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// Hugging Face directories written from stories260K's weights (q/k in HF's layout, SentencePiece or tokenizer.json
/// vocabulary) convert back into the model llama.cpp made: same tensors, same greedy text. This proves the rotary
/// permutation, the name map and the tokenizer conversion.
/// </summary>
public class HuggingFaceConverterTests
{
    [Theory]
    [InlineData("F32", 1)]
    [InlineData("F32", 3)]
    [InlineData("F16", 1)]
    [InlineData("F16", 2)]
    [InlineData("BF16", 1)]
    [InlineData("BF16", 2)]
    public void ConvertsBackIntoLlamaCppsModel(string dtype, int shards)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("stories260K-hf"), output = dir.File("out.gguf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), dtype, shards);
        var result = ModelConverter.Convert(hf, output);
        Assert.Equal("Hugging Face directory", result.SourceKind);

        // Tied embeddings: no output.weight, as convert_hf_to_gguf.py writes it; llama.cpp's files carry a copy.
        ConvertFixture.AssertSameTensors(Shared.Stories260K(dtype), output, absent: "output.weight");
        using var gguf = GgufFile.Open(output);
        using var reference = GgufFile.Open(Shared.Stories260K("F32"));
        Assert.Equal(reference.Metadata.GetArray<string>("tokenizer.ggml.tokens"), gguf.Metadata.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(reference.Metadata.GetArray<int>("tokenizer.ggml.token_type"), gguf.Metadata.GetArray<int>("tokenizer.ggml.token_type"));
        Assert.Equal(reference.Metadata.GetArray<float>("tokenizer.ggml.scores"), gguf.Metadata.GetArray<float>("tokenizer.ggml.scores"));
        Assert.Equal(512, gguf.Metadata.GetInt32("llama.context_length"));
        Assert.Equal(4, gguf.Metadata.GetInt32("llama.attention.head_count_kv"));
        Assert.Equal(1e-5f, gguf.Metadata.GetSingle("llama.attention.layer_norm_rms_epsilon"));
        var fileType = dtype switch { "F16" => LlamaFileType.MostlyF16, "BF16" => LlamaFileType.MostlyBF16, _ => LlamaFileType.AllF32 };
        Assert.Equal((int)fileType, gguf.Metadata.GetInt32("general.file_type"));
        Assert.Equal(ConvertFixture.ReferenceText(dtype), ConvertFixture.GreedyText(output));
    }

    [Fact]
    public void LargerModelStreamsThroughWithoutBeingHeldInMemory()
    {
        // A random model of another shape (8 heads of 64, 2 kv heads): ~24 MB of F32 weights. The conversion reads
        // them from the mapping row by row, so it allocates a small fraction of that.
        using var dir = new ConvertFixture.ScratchDirectory();
        string random = dir.File("random.gguf"), hf = dir.File("hf"), output = dir.File("out.gguf");
        LlamaAot.Model.RandomModel.Write(random, new LlamaAot.Model.LlamaShape(512, 2, 8, 2, 1408), GgmlType.F32, Shared.Stories260K("F32"), seed: 3);
        HuggingFaceWriter.Write(hf, random, "F32", shards: 2);
        long weights = Directory.GetFiles(hf, "*.safetensors").Sum(f => new FileInfo(f).Length);
        Assert.True(weights > 20_000_000, $"{weights} bytes of weights");

        long before = GC.GetAllocatedBytesForCurrentThread();
        ModelConverter.Convert(hf, output);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < weights / 5, $"converting {weights} bytes of weights allocated {allocated} bytes");
        ConvertFixture.AssertSameTensors(random, output, absent: "output.weight");
    }

    [Fact]
    public void HalfNormsAreWidenedToF32()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = dir.File("out.gguf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F16", normsF32: false);
        ModelConverter.Convert(hf, output);
        using var gguf = GgufFile.Open(output);
        using var reference = GgufFile.Open(Shared.Stories260K("F32"));
        var norm = gguf.FindTensor("blk.2.ffn_norm.weight")!;
        Assert.Equal(GgmlType.F32, norm.Type);
        var expected = ConvertFixture.ReadFloats(reference, "blk.2.ffn_norm.weight").Select(v => (float)(Half)v).ToArray();
        Assert.Equal(expected, ConvertFixture.ReadFloats(gguf, "blk.2.ffn_norm.weight"));
        Assert.Equal(GgmlType.F16, gguf.FindTensor("blk.2.ffn_up.weight")!.Type);
    }

    [Fact]
    public void OutTypeConvertsEveryMatrix()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = dir.File("out.gguf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32");
        ModelConverter.Convert(hf, output, new ConvertOptions { OutType = OutType.F16 });
        ConvertFixture.AssertSameTensors(Shared.Stories260K("F16"), output, absent: "output.weight");
    }

    [Fact]
    public void TokenizerJsonGivesTheSameText()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = dir.File("out.gguf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32", tokenizer: HuggingFaceWriter.Tokenizer.Json);
        ModelConverter.Convert(hf, output);
        using var gguf = GgufFile.Open(output);
        using var reference = GgufFile.Open(Shared.Stories260K("F32"));
        Assert.Equal(reference.Metadata.GetArray<string>("tokenizer.ggml.tokens"), gguf.Metadata.GetArray<string>("tokenizer.ggml.tokens"));
        Assert.Equal(reference.Metadata.GetArray<int>("tokenizer.ggml.token_type"), gguf.Metadata.GetArray<int>("tokenizer.ggml.token_type"));
        Assert.Equal(ConvertFixture.ReferenceText("F32"), ConvertFixture.GreedyText(output));
        // Scores rebuilt from merge ranks order the merges as SentencePiece's scores did.
        using var original = LlamaModel.Load(Shared.Stories260K("F32"));
        using var converted = LlamaModel.Load(output);
        foreach (string text in new[] { "Lily and Tom went to the park. They saw a big", "The quick brown fox jumps over the lazy dog!", "  x\ny\tz 123 ünïcödé" })
            Assert.Equal(original.Tokenize(text, addSpecial: true, parseSpecial: false), converted.Tokenize(text, addSpecial: true, parseSpecial: false));
    }

    [Fact]
    public void SentencePieceReaderReadsPiecesAndIds()
    {
        var model = SentencePieceModel.Parse(HuggingFaceWriter.SentencePieceProto(["<unk>", "<s>", "</s>", "\u2581a"], [0, 0, 0, -1.5f], [2, 3, 3, 1]));
        Assert.Equal(["<unk>", "<s>", "</s>", "\u2581a"], model.Pieces);
        Assert.Equal(-1.5f, model.Scores[3]);
        Assert.Equal(LlamaAot.Tokenizers.TokenType.Unknown, model.Types[0]);
        Assert.Equal((0, 1, 2, -1), (model.UnknownId, model.BosId, model.EosId, model.PadId));
        Assert.True(model.AddDummyPrefix);
        Assert.Throws<FormatException>(() => SentencePieceModel.Parse(HuggingFaceWriter.SentencePieceProto(["a"], [0], [1])[..5]));
    }

    [Fact]
    public void MissingConfigIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32");
        File.Delete(Path.Combine(hf, "config.json"));
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(hf, dir.File("out.gguf")));
        Assert.Equal($"{hf}: no config.json: not a Hugging Face model directory", e.Message);
    }

    [Fact]
    public void UnknownDTypeIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32");
        string model = Path.Combine(hf, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(model);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)BitConverter.ToUInt64(bytes, 0));
        int at = header.IndexOf("\"F32\"", StringComparison.Ordinal);
        System.Text.Encoding.UTF8.GetBytes("\"I32\"").CopyTo(bytes, 8 + at);
        File.WriteAllBytes(model, bytes);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(hf, dir.File("out.gguf")));
        Assert.Contains("has dtype I32; only F32, F16 and BF16 tensors can be converted", e.Message);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void TruncatedSafetensorsIsAClearError()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32", shards: 2);
        string shard = Path.Combine(hf, "model-00002-of-00002.safetensors");
        byte[] bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(hf, dir.File("out.gguf")));
        Assert.StartsWith($"{shard}: truncated file: tensor '", e.Message);

        File.WriteAllBytes(shard, bytes[..6]);
        e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(hf, dir.File("out.gguf")));
        Assert.Contains("fewer than the 8-byte header length", e.Message);
    }

    [Fact]
    public void MissingShardAndUnknownTensorsAreClearErrors()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32", shards: 2);
        File.Delete(Path.Combine(hf, "model-00001-of-00002.safetensors"));
        var e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(hf, dir.File("out.gguf")));
        Assert.Contains("names the shard model-00001-of-00002.safetensors, which is not in", e.Message);

        string other = dir.File("hf2");
        HuggingFaceWriter.Write(other, Shared.Stories260K("F32"), "F32");
        File.WriteAllText(Path.Combine(other, "config.json"), File.ReadAllText(Path.Combine(other, "config.json")).Replace("\"num_hidden_layers\": 5", "\"num_hidden_layers\": 4"));
        e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(other, dir.File("out.gguf")));
        Assert.Contains("tensor 'model.layers.4.input_layernorm.weight' (and 8 more) has no place in a llama model", e.Message);
    }
}
