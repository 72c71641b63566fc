using System.Text.Json.Nodes;
using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// The Hugging Face architectures beyond llama 2: a directory written from each of <c>../shared/models/arch</c>'s F32
/// models by inverting llama.cpp's conversion (<see cref="HuggingFaceArchWriter"/>) converts back into that model's
/// tensors and metadata; and checks that do not depend on the inverse: Gemma's norms gain 1, q/k are permuted for
/// llama only, llama3's rope factors are the shared file's.
/// </summary>
public class HuggingFaceArchitectureTests
{
    public static TheoryData<string> Architectures() => ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"];

    /// <summary>
    /// Keys convert_hf_to_gguf.py writes that the shared files lack (they were written with gguf-py, not by the
    /// converter), with the value it writes: LlamaModel adds vocab_size; Phi3MiniModel always writes the sliding window
    /// (0 when config.json has none) and, with LongRoPE factors, the attention factor sqrt(1 + ln(s) / ln(n_orig)) of
    /// the context scale s = max_position_embeddings / original_max_position_embeddings = 4096 / 2048.
    /// </summary>
    private static readonly Dictionary<string, GgufValue[]> KeysOnlyTheConverterWrites = new()
    {
        ["llama.vocab_size"] = [new(GgufValueType.UInt32, 512u)],
        ["phi3.attention.sliding_window"] = [new(GgufValueType.UInt32, 0u)],
        ["phi3.rope.scaling.attn_factor"] = [new(GgufValueType.Float32, (float)Math.Sqrt(1 + Math.Log(2.0) / Math.Log(2048)))],
    };

    /// <summary>Writes <paramref name="arch"/>'s Hugging Face directory as <c>NAME</c> in <paramref name="dir"/> (see
    /// <see cref="HuggingFaceArchWriter.Write"/>) and converts it to F32 <c>NAME.gguf</c>, whose path it returns.</summary>
    private static string WriteAndConvert(ConvertFixture.ScratchDirectory dir, string arch, string name = "hf", string dtype = "F32",
        Action<JsonObject>? editConfig = null, Action<List<(string Name, long[] Shape, float[] Values, string DType)>>? editTensors = null)
    {
        string hf = dir.File(name), output = dir.File(name + ".gguf");
        HuggingFaceArchWriter.Write(hf, arch, dtype, editConfig, editTensors);
        ModelConverter.Convert(hf, output, new ConvertOptions { OutType = OutType.F32 });
        return output;
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void ConvertsBackIntoTheSharedModel(string arch)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = WriteAndConvert(dir, arch);

        // Every tensor, bit for bit: names, shapes, types and data; nothing more (rope_freqs and the LongRoPE factors
        // are recomputed from config.json; Gemma's norms come back from w - 1 exactly, see HuggingFaceArchWriter).
        ConvertFixture.AssertSameTensors(HuggingFaceArchWriter.Path(arch), output);

        using var expected = GgufFile.Open(HuggingFaceArchWriter.Path(arch));
        using var actual = GgufFile.Open(output);
        Assert.Equal(arch, actual.Metadata.GetString("general.architecture"));
        Assert.Equal((int)LlamaFileType.AllF32, actual.Metadata.GetInt32("general.file_type"));
        var archKeys = (GgufFile f) => f.Metadata.Keys.Where(k => k.StartsWith(arch + ".", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var extra = KeysOnlyTheConverterWrites.Keys.Where(k => k.StartsWith(arch + ".", StringComparison.Ordinal)).ToList();
        Assert.Equal([.. archKeys(expected).Concat(extra).Order(StringComparer.Ordinal)], archKeys(actual));
        foreach (string key in archKeys(expected))
            Assert.True(expected.Metadata[key] == actual.Metadata[key], $"{key}: {expected.Metadata[key]} ({expected.Metadata[key].Type}) became {actual.Metadata[key]} ({actual.Metadata[key].Type})");
        foreach (string key in extra)
            Assert.Equal(KeysOnlyTheConverterWrites[key][0], actual.Metadata[key]);

        // The vocabulary, as for stories260K. <s> and </s>, which added_tokens.json and tokenizer_config.json name, score
        // -1000 as convert_hf_to_gguf.py scores added tokens; tokenizer_config.json's add_bos_token / add_eos_token are
        // written; Gemma's converters write add_space_prefix = false whatever the tokenizer says.
        Assert.Equal(expected.Metadata.GetArray<string>("tokenizer.ggml.tokens"), actual.Metadata.GetArray<string>("tokenizer.ggml.tokens"));
        float[] scores = [.. expected.Metadata.GetArray<float>("tokenizer.ggml.scores")!];
        scores[1] = scores[2] = -1000;
        Assert.Equal(scores, actual.Metadata.GetArray<float>("tokenizer.ggml.scores"));
        Assert.True(actual.Metadata.GetBool("tokenizer.ggml.add_bos_token", false));
        Assert.False(actual.Metadata.GetBool("tokenizer.ggml.add_eos_token", true));
        Assert.Equal(expected.Metadata.GetArray<int>("tokenizer.ggml.token_type"), actual.Metadata.GetArray<int>("tokenizer.ggml.token_type"));
        foreach (string id in new[] { "unknown", "bos", "eos", "padding" })
            Assert.Equal(expected.Metadata.GetInt64($"tokenizer.ggml.{id}_token_id"), actual.Metadata.GetInt64($"tokenizer.ggml.{id}_token_id"));
        if (arch.StartsWith("gemma", StringComparison.Ordinal))
            Assert.False(actual.Metadata.GetBool("tokenizer.ggml.add_space_prefix", true));
        else
            Assert.False(actual.Metadata.Contains("tokenizer.ggml.add_space_prefix"));
    }

    /// <summary>Every norm weight w of the safetensors becomes w + 1 (float32) for Gemma (its RMSNorm multiplies by
    /// 1 + w), and stays w for the others: read against the HF input, not against the inverse.</summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void GemmaNormsGainOneOthersStay(string arch)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = WriteAndConvert(dir, arch);
        bool gemma = arch.StartsWith("gemma", StringComparison.Ordinal);

        using var gguf = GgufFile.Open(output);
        using var safetensors = SafetensorsFile.Open(Path.Combine(hf, "model.safetensors"));
        int norms = 0;
        foreach (var t in gguf.Tensors.Where(t => t.Name.EndsWith("norm.weight", StringComparison.Ordinal)))
        {
            float[] source = ReadAll(safetensors, HuggingFaceArchWriter.HfName(arch, t.Name));
            float[] converted = ConvertFixture.ReadFloats(gguf, t.Name);
            Assert.Equal(gemma ? Array.ConvertAll(source, w => w + 1f) : source, converted);
            norms++;
        }
        Assert.Equal(gguf.Metadata.GetInt32($"{arch}.block_count") * NormsPerLayer(arch) + 1, norms);

        // Fixed values: a Gemma norm of 0.25 is stored as 1.25, one of -1 as 0.
        if (gemma)
        {
            string fixedOut = WriteAndConvert(dir, arch, "fixed", editTensors: tensors =>
            {
                int i = tensors.FindIndex(t => t.Name == "model.norm.weight");
                var values = new float[tensors[i].Values.Length];
                values[0] = 0.25f;
                values[1] = -1f;
                tensors[i] = tensors[i] with { Values = values };
            });
            using var f = GgufFile.Open(fixedOut);
            float[] norm = ConvertFixture.ReadFloats(f, "output_norm.weight");
            Assert.Equal((1.25f, 0f, 1f), (norm[0], norm[1], norm[2]));
        }
    }

    private static int NormsPerLayer(string arch) => arch switch
    {
        "qwen3" => 4, // attn_norm, ffn_norm, attn_q_norm, attn_k_norm
        "gemma2" => 4, // attn_norm, post_attention_norm, ffn_norm, post_ffw_norm
        "gemma3" => 6,
        _ => 2,
    };

    /// <summary>
    /// torch adds Gemma's 1 in the checkpoint's dtype when that is F16 (convert_hf_to_gguf.py widens only BF16 to
    /// float32 first): an F16 norm of 2^-11 becomes 1 + 2^-11, which F16 rounds to 1 (ties to even), where float32
    /// keeps it. BF16 norms gain 1 in float32.
    /// </summary>
    [Theory]
    [InlineData("F16", 1f)]
    [InlineData("BF16", 1f + 1f / 2048)]
    public void GemmaNormGainsOneInTheCheckpointsPrecision(string dtype, float expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = WriteAndConvert(dir, "gemma2", dtype: dtype, editTensors: tensors =>
        {
            int i = tensors.FindIndex(t => t.Name == "model.layers.0.input_layernorm.weight");
            tensors[i].Values[0] = 1f / 2048;
        });
        using var gguf = GgufFile.Open(output);
        Assert.Equal(GgmlType.F32, gguf.FindTensor("blk.0.attn_norm.weight")!.Type);
        Assert.Equal(expected, ConvertFixture.ReadFloats(gguf, "blk.0.attn_norm.weight")[0]);
    }

    /// <summary>
    /// Llama's q/k rows go from HF's rotate-half order to llama.cpp's adjacent pairs (row 2i+j of a head is HF's row
    /// j*headDim/2+i, per head of q and per KV head of k); Qwen's are copied as they are (NEOX rope).
    /// </summary>
    [Theory]
    [InlineData("llama", true)]
    [InlineData("qwen2", false)]
    [InlineData("qwen3", false)]
    public void QkArePermutedForLlamaOnly(string arch, bool permuted)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = WriteAndConvert(dir, arch);
        using var gguf = GgufFile.Open(output);
        using var safetensors = SafetensorsFile.Open(Path.Combine(hf, "model.safetensors"));
        int headDim = gguf.Metadata.GetInt32($"{arch}.attention.key_length");
        foreach (var (name, heads) in new[] { ("attn_q", $"{arch}.attention.head_count"), ("attn_k", $"{arch}.attention.head_count_kv") })
        {
            var tensor = gguf.FindTensor($"blk.1.{name}.weight")!;
            int rowLength = (int)tensor.Shape[0], rows = (int)tensor.Shape[1];
            Assert.Equal(gguf.Metadata.GetInt32(heads) * headDim, rows);
            float[] source = ReadAll(safetensors, HuggingFaceArchWriter.HfName(arch, tensor.Name));
            float[] converted = ConvertFixture.ReadFloats(gguf, tensor.Name);
            for (int row = 0; row < rows; row++)
            {
                int head = row / headDim, r = row % headDim;
                int from = permuted ? head * headDim + r % 2 * (headDim / 2) + r / 2 : row;
                Assert.True(source.AsSpan(from * rowLength, rowLength).SequenceEqual(converted.AsSpan(row * rowLength, rowLength)), $"{tensor.Name} row {row}");
            }
        }
    }

    /// <summary>
    /// rope_freqs.weight computed as convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors does, from rope_scaling
    /// {factor 8, low_freq_factor 1, high_freq_factor 4, original_max_position_embeddings 8192} and the shared llama
    /// file's head dim and rope base, is that file's rope_freqs.weight, bit for bit.
    /// </summary>
    [Fact]
    public void Llama3RopeFactorsAreTheSharedFiles()
    {
        using var file = GgufFile.Open(HuggingFaceArchWriter.Path("llama"));
        var factors = HuggingFaceArchitecture.Llama.RopeFactors(
            file.Metadata.GetSingle("llama.rope.freq_base"), file.Metadata.GetInt32("llama.attention.key_length"),
            factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192);
        Assert.Equal(ConvertFixture.ReadFloats(file, "rope_freqs.weight"), factors);
        Assert.Contains(factors, f => f is > 1 and < 8); // the smoothed band, where float rounding could differ
    }

    /// <summary>
    /// SmolLM3ForCausalLM converts as convert_hf_to_gguf.py's SmolLM3Model, a LlamaModel under <c>smollm3</c>: llama's
    /// directory (without llama3 rope scaling) renamed gives llama's tensors (q/k permuted) but rope_freqs.weight, and
    /// llama's keys under smollm3.; config.json's no_rope_layers (llama.cpp fixes every fourth layer) is not written.
    /// The model runs in llama-aot: its forward pass is checked against llama.cpp in ArchitectureVariantTests.
    /// </summary>
    [Fact]
    public void SmolLM3ConvertsAsLlamaUnderItsOwnName()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = WriteAndConvert(dir, "llama", editConfig: config =>
        {
            config["architectures"] = new JsonArray("SmolLM3ForCausalLM");
            config["model_type"] = "smollm3";
            config.Remove("rope_scaling");
            config["no_rope_layers"] = new JsonArray(1, 1, 1, 0);
        });
        ConvertFixture.AssertSameTensors(HuggingFaceArchWriter.Path("llama"), output, "rope_freqs.weight");
        using var expected = GgufFile.Open(HuggingFaceArchWriter.Path("llama"));
        using var actual = GgufFile.Open(output);
        Assert.Equal("smollm3", actual.Metadata.GetString("general.architecture"));
        var keys = (GgufFile f, string arch) => f.Metadata.Keys.Where(k => k.StartsWith(arch + ".", StringComparison.Ordinal)).Select(k => k[(arch.Length + 1)..]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([.. keys(expected, "llama").Append("vocab_size").Order(StringComparer.Ordinal)], keys(actual, "smollm3"));
        foreach (string key in keys(expected, "llama"))
            Assert.True(expected.Metadata["llama." + key] == actual.Metadata["smollm3." + key], $"{key}: {expected.Metadata["llama." + key]} became {actual.Metadata["smollm3." + key]}");
        using var model = LlamaAot.LlamaModel.Load(output);
        Assert.Equal("smollm3", model.Config.Architecture);
    }

    /// <summary>Gemma 3's multimodal config shape: the text model's settings under text_config, its tensors under
    /// language_model., the vision tower's skipped (the text part is converted, as convert_hf_to_gguf.py does).</summary>
    [Fact]
    public void Gemma3TextConfigShapeConvertsTheTextPart()
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = WriteAndConvert(dir, "gemma3",
            editConfig: config =>
            {
                var text = new JsonObject();
                foreach (string key in config.Select(p => p.Key).Where(k => k is not ("architectures" or "torch_dtype")).ToList())
                {
                    text[key] = config[key]?.DeepClone();
                    config.Remove(key);
                }
                config["architectures"] = new JsonArray("Gemma3ForConditionalGeneration");
                config["model_type"] = "gemma3";
                config["text_config"] = text;
                config["vision_config"] = new JsonObject { ["hidden_size"] = 8 };
            },
            editTensors: tensors =>
            {
                for (int i = 0; i < tensors.Count; i++)
                    tensors[i] = tensors[i] with { Name = tensors[i].Name.Replace("model.", "model.language_model.", StringComparison.Ordinal) };
                tensors.Add(("model.vision_tower.vision_model.post_layernorm.weight", [8], new float[8], "F32"));
                tensors.Add(("model.multi_modal_projector.mm_input_projection_weight", [8, 256], new float[8 * 256], "F32"));
            });
        ConvertFixture.AssertSameTensors(HuggingFaceArchWriter.Path("gemma3"), output);
        using var gguf = GgufFile.Open(output);
        Assert.Equal(2, gguf.Metadata.GetInt32("gemma3.attention.sliding_window_pattern"));
    }

    /// <summary>
    /// transformers 5's config shape: rope settings (rope_theta included) in rope_parameters, per layer type for Gemma 3
    /// (full_attention / sliding_attention), and layer_types instead of sliding_window_pattern: the same model.
    /// </summary>
    [Theory]
    [InlineData("llama")]
    [InlineData("gemma3")]
    public void RopeParametersAndLayerTypesConvertTheSame(string arch)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string output = WriteAndConvert(dir, arch, editConfig: config =>
        {
            var theta = config["rope_theta"]!.DeepClone();
            config.Remove("rope_theta");
            if (arch == "llama")
            {
                var parameters = (JsonObject)config["rope_scaling"]!.DeepClone();
                parameters["rope_theta"] = theta;
                config.Remove("rope_scaling");
                config["rope_parameters"] = parameters;
                return;
            }
            config["rope_parameters"] = new JsonObject
            {
                ["full_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = theta },
                ["sliding_attention"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = config["rope_local_base_freq"]!.DeepClone() },
            };
            config.Remove("rope_local_base_freq");
            config.Remove("sliding_window_pattern");
            config["layer_types"] = new JsonArray("sliding_attention", "full_attention"); // pattern 2
        });
        ConvertFixture.AssertSameTensors(HuggingFaceArchWriter.Path(arch), output);
        using var expected = GgufFile.Open(HuggingFaceArchWriter.Path(arch));
        using var actual = GgufFile.Open(output);
        foreach (string key in expected.Metadata.Keys.Where(k => k.StartsWith(arch + ".", StringComparison.Ordinal)))
            Assert.True(expected.Metadata[key] == actual.Metadata[key], $"{key}: {expected.Metadata[key]} became {actual.Metadata[key]}");
    }

    [Theory]
    [InlineData("qwen2", "architectures", "[\"MambaForCausalLM\"]", "config.json: architecture 'MambaForCausalLM' is not supported; supported: {Llama,Mistral,Qwen2,Qwen3,Gemma2,Gemma3,Phi3,SmolLM3}ForCausalLM,Gemma3ForConditionalGeneration")]
    [InlineData("qwen2", "rope_scaling", "{\"rope_type\": \"yarn\", \"factor\": 4, \"original_max_position_embeddings\": 32768}", "config.json: rope_scaling type 'yarn' is not supported for Qwen2ForCausalLM (supported: linear)")]
    [InlineData("qwen3", "rope_scaling", "{\"rope_type\": \"llama3\", \"factor\": 8}", "config.json: rope_scaling type 'llama3' is not supported for Qwen3ForCausalLM (supported: linear)")]
    [InlineData("llama", "rope_scaling", "{\"type\": \"longrope\", \"long_factor\": [1], \"short_factor\": [1]}", "config.json: rope_scaling type 'longrope' is not supported for LlamaForCausalLM (supported: linear, llama3)")]
    [InlineData("phi3", "rope_scaling", "{\"type\": \"linear\", \"factor\": 2}", "config.json: rope_scaling type 'linear' is not supported for Phi3ForCausalLM (supported: longrope, su)")]
    [InlineData("phi3", "rope_scaling", "{\"type\": \"longrope\", \"long_factor\": [1, 2], \"short_factor\": [1, 2]}", "config.json: rope_scaling.long_factor has 2 values; Phi3ForCausalLM needs rope dimensions / 2 = 24")]
    [InlineData("phi3", "rope_scaling", "{\"type\": \"longrope\", \"long_factor\": [1]}", "config.json: rope_scaling has long_factor but no short_factor")]
    [InlineData("phi3", "original_max_position_embeddings", "0", "config.json: original_max_position_embeddings = 0 must be positive")]
    [InlineData("gemma2", "query_pre_attn_scalar", "256", "config.json: query_pre_attn_scalar 256, but llama.cpp's gemma2 scales queries by 1/sqrt(64) for this model")]
    [InlineData("gemma3", "attn_logit_softcapping", "50.0", "config.json: attn_logit_softcapping is set, but Gemma3ForCausalLM has no attention soft-cap")]
    public void UnsupportedSettingsAreClearErrors(string arch, string key, string json, string expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf");
        HuggingFaceArchWriter.Write(hf, arch, editConfig: config => config[key] = JsonNode.Parse(json));
        HuggingFaceConverterTests.AssertClearError(hf, dir.File("out.gguf"), expected);
    }

    private static float[] ReadAll(SafetensorsFile file, string name)
    {
        var t = file.Find(name) ?? throw new InvalidOperationException($"no tensor {name}");
        var values = new float[t.Rows * t.RowLength];
        for (long r = 0; r < t.Rows; r++)
            file.ReadRow(t, r, values.AsSpan((int)(r * t.RowLength), (int)t.RowLength));
        return values;
    }
}
