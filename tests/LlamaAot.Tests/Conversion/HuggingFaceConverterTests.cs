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
        Assert.Contains("has dtype 'I32'; only F32, F16 and BF16 tensors can be converted", e.Message);
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
        Assert.Contains("names the shard 'model-00001-of-00002.safetensors', which is not in", e.Message);

        string other = dir.File("hf2");
        HuggingFaceWriter.Write(other, Shared.Stories260K("F32"), "F32");
        File.WriteAllText(Path.Combine(other, "config.json"), File.ReadAllText(Path.Combine(other, "config.json")).Replace("\"num_hidden_layers\": 5", "\"num_hidden_layers\": 4"));
        e = Assert.Throws<ConversionException>(() => ModelConverter.Convert(other, dir.File("out.gguf")));
        Assert.Contains("tensor 'model.layers.4.input_layernorm.weight' (and 8 more) has no place in a llama model", e.Message);
    }

    /// <summary>Stands for 40,000 'a' in the cases below: a string a corrupt or hostile file may hold.</summary>
    private const string Long = "LONG";

    /// <summary>What <see cref="LlamaAot.Diagnostics.Excerpt.Quote"/> makes of <see cref="Long"/>: 64 characters, then the length.</summary>
    private const string LongQuoted = "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... (40000 characters)";

    /// <summary>
    /// A string from the directory's files is quoted short in the error (it once quoted 7-88 KB whole), and a value of
    /// the wrong kind, a missing field or a key that should be a number is a conversion error naming the file and the
    /// field, never a framework exception ("internal error").
    /// </summary>
    [Theory]
    [InlineData("config.json", "\"LlamaForCausalLM\"", $"\"{Long}\"", $"config.json: architecture {LongQuoted} is not supported")]
    [InlineData("config.json", "\"LlamaForCausalLM\"", "1", "config.json: architectures[0] is the number 1, not a string")]
    [InlineData("config.json", "\"hidden_size\": 64", "\"hidden_size\": \"64\"", "config.json: hidden_size is a string, not an integer")]
    [InlineData("config.json", "\"max_position_embeddings\": 512", "\"max_position_embeddings\": 1e308", "config.json: max_position_embeddings is the number 1e308, not an integer")]
    [InlineData("config.json", "\"rms_norm_eps\": 1e-05", "\"rms_norm_eps\": [1e-05]", "config.json: rms_norm_eps is an array, not a finite number")]
    [InlineData("config.json", "\"model_type\"", "\"rope_scaling\": { \"type\": 2 }, \"model_type\"", "config.json: rope_scaling.type is the number 2, not a string")]
    [InlineData("config.json", "\"torch_dtype\": \"float32\"", $"\"torch_dtype\": flse, \"x\": \"{Long}\"", "config.json: not valid JSON at line 16, byte 19")]
    [InlineData("model.safetensors.index.json", "\"model-00002-of-00002.safetensors\"", $"\"{Long}\"", $"model.safetensors.index.json names the shard {LongQuoted}, which is not in")]
    [InlineData("model.safetensors.index.json", "\"model-00002-of-00002.safetensors\"", "1", "model.safetensors.index.json: the shard of tensor 'model.layers.2.post_attention_layernorm.weight' is the number 1, not a string")]
    [InlineData("model.safetensors.index.json", "\"model-00002-of-00002.safetensors\"", "\"../config.json\"", "model.safetensors.index.json names the shard '../config.json', which is not a file name")]
    [InlineData("model.safetensors.index.json", "\"model-00002-of-00002.safetensors\"", "\"/etc/hostname\"", "model.safetensors.index.json names the shard '/etc/hostname', which is not a file name")]
    [InlineData("model.safetensors.index.json", "*", "[]", "model.safetensors.index.json: not a JSON object")]
    [InlineData("model-00001-of-00002.safetensors", "\"F32\"", $"\"{Long}\"", $"has dtype {LongQuoted}; only F32, F16 and BF16 tensors can be converted")]
    [InlineData("model-00001-of-00002.safetensors", "\"__metadata__\"", $"\"{Long}\": {{ \"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0] }}, \"__metadata__\"", $"tensor {LongQuoted} has no place in a llama model")]
    [InlineData("model-00001-of-00002.safetensors", "\"__metadata__\"", "\"model.embed_tokens.weight\": { \"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [0, 0] }, \"__metadata__\"", "tensor 'model.embed_tokens.weight' appears twice in the safetensors header")]
    [InlineData("model-00001-of-00002.safetensors", "\"F32\"", "\"F32\\ud800\"", "the safetensors header: a string is not valid Unicode")]
    [InlineData("tokenizer_config.json", "\"1\":", "\"x\":", "tokenizer_config.json: added_tokens_decoder key 'x' is not a token id")]
    [InlineData("tokenizer_config.json", "\"1\":", "\"99999999999\":", "tokenizer_config.json: added_tokens_decoder key '99999999999' is not a token id")]
    [InlineData("tokenizer_config.json", "\"content\": \"<s>\",", "", "tokenizer_config.json: added_tokens_decoder entry '1' has no content")]
    [InlineData("tokenizer_config.json", "\"content\": \"<s>\"", "\"content\": 5", "tokenizer_config.json: the content of added_tokens_decoder entry '1' is the number 5, not a string")]
    [InlineData("tokenizer_config.json", "\"bos_token\": \"<s>\"", "\"bos_token\": \"\\udc00\"", "tokenizer_config.json: a string is not valid Unicode")]
    [InlineData("added_tokens.json", "\"<s>\": 1", "\"<s>\": \"1\"", "added_tokens.json: the id of added token '<s>' is a string, not an integer")]
    [InlineData("tokenizer_config.json", "*", "[]", "tokenizer_config.json: not a JSON object")]
    [InlineData("added_tokens.json", "*", "[1]", "added_tokens.json: not a JSON object")]
    public void MalformedFilesAreClearErrors(string file, string find, string replace, string expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32", shards: 2);
        HuggingFaceWriter.WriteTokenizerConfig(hf);
        Edit(Path.Combine(hf, file), find, replace.Replace(Long, new string('a', 40_000), StringComparison.Ordinal));
        AssertClearError(hf, dir.File("out.gguf"), expected);
    }

    [Theory]
    [InlineData("\"type\":\"BPE\"", $"\"type\":\"{Long}\"", $"tokenizer.json: a {LongQuoted} tokenizer is not supported")]
    [InlineData("\"\\u003Cunk\\u003E\":0", "\"\\u003Cunk\\u003E\":\"0\"", "tokenizer.json: the id of token '<unk>' is a string, not an integer")]
    [InlineData("\"\\u003Cunk\\u003E\":0", $"\"{Long}\":-1", $"tokenizer.json: token id -1 ({LongQuoted}) is negative or given twice")]
    [InlineData("{\"id\":0,", "{", "tokenizer.json: added token 0 has no id")]
    [InlineData("{\"id\":0,", "{\"id\":-1,", "tokenizer.json: added token 0 has id -1, not a token id")]
    [InlineData("\"merges\":[", "\"merges\":[7,", "tokenizer.json: merge 0 is the number 7, not a string or a pair of strings")]
    [InlineData("\"unk_token\":\"\\u003Cunk\\u003E\"", "\"unk_token\":[]", "tokenizer.json: model.unk_token is an array, not a string")]
    public void MalformedTokenizerJsonIsAClearError(string find, string replace, string expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32", tokenizer: HuggingFaceWriter.Tokenizer.Json);
        Edit(Path.Combine(hf, "tokenizer.json"), find, replace.Replace(Long, new string('a', 40_000), StringComparison.Ordinal));
        AssertClearError(hf, dir.File("out.gguf"), expected);
    }

    /// <summary>Converting <paramref name="hf"/> fails with a message that says what, one short line.</summary>
    internal static void AssertClearError(string hf, string output, string expected)
    {
        var e = Record.Exception(() => ModelConverter.Convert(hf, output));
        Assert.True(e is ConversionException or NotSupportedException, $"{e?.GetType().Name}: {e?.Message}");
        Assert.True(e!.Message.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in: {e.Message}");
        Assert.True(e.Message.Length < 300, $"a message of {e.Message.Length} characters");
        Assert.False(File.Exists(output));
    }

    /// <summary>Replaces the first <paramref name="find"/> ("*": the whole text) in a JSON file, or in a safetensors
    /// file's JSON header (whose length field is rewritten to match).</summary>
    private static void Edit(string path, string find, string replace)
    {
        byte[] bytes = File.ReadAllBytes(path);
        bool safetensors = path.EndsWith(".safetensors", StringComparison.Ordinal);
        int start = safetensors ? 8 : 0, length = safetensors ? (int)BitConverter.ToUInt64(bytes, 0) : bytes.Length;
        string text = System.Text.Encoding.UTF8.GetString(bytes, start, length);
        int at = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(find == "*" || at >= 0, $"{find} is not in {path}");
        byte[] edited = System.Text.Encoding.UTF8.GetBytes(find == "*" ? replace : text[..at] + replace + text[(at + find.Length)..]);
        using var output = File.Create(path);
        if (safetensors)
            output.Write(BitConverter.GetBytes((ulong)edited.Length));
        output.Write(edited);
        output.Write(bytes.AsSpan(start + length));
    }
}
