using System.Text.Json.Nodes;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// Writes a Hugging Face directory (config.json, model.safetensors, tokenizer.model, tokenizer_config.json) from one
/// of <c>../shared/models/arch</c>'s F32 models by inverting llama.cpp's convert_hf_to_gguf.py: GGUF names back to
/// transformers', llama's q/k back into HF's rotate-half layout, Gemma's norms minus 1, the llama3 rope scaling and
/// Phi-3's LongRoPE factors back into config.json. Every <c>{arch}.*</c> key of the file is turned into config.json
/// or the writer throws, so a key the inverse does not know cannot pass unnoticed.
/// </summary>
internal static class HuggingFaceArchWriter
{
    /// <summary>config.json's <c>architectures</c> and <c>model_type</c> of each GGUF architecture.</summary>
    public static readonly IReadOnlyDictionary<string, (string HfName, string ModelType)> Names = new Dictionary<string, (string, string)>
    {
        ["llama"] = ("LlamaForCausalLM", "llama"),
        ["qwen2"] = ("Qwen2ForCausalLM", "qwen2"),
        ["qwen3"] = ("Qwen3ForCausalLM", "qwen3"),
        ["gemma2"] = ("Gemma2ForCausalLM", "gemma2"),
        ["gemma3"] = ("Gemma3ForCausalLM", "gemma3_text"),
        ["phi3"] = ("Phi3ForCausalLM", "phi3"),
    };

    /// <summary>The llama3 rope scaling the shared llama model was made with (its README): rope_freqs.weight holds
    /// the factors these give; the round trip proves it by recomputing them.</summary>
    public static JsonObject Llama3RopeScaling() => new()
    {
        ["rope_type"] = "llama3",
        ["factor"] = 8.0,
        ["low_freq_factor"] = 1.0,
        ["high_freq_factor"] = 4.0,
        ["original_max_position_embeddings"] = 8192,
    };

    public static string Path(string arch) => System.IO.Path.Combine(Shared.Models, "arch", $"{arch}-F32.gguf");

    /// <param name="dtype">The safetensors dtype of every tensor (F32, F16, BF16).</param>
    /// <param name="editConfig">Changes config.json before it is written.</param>
    /// <param name="editTensors">Changes the safetensors' tensors (HF names) before they are written.</param>
    public static void Write(string directory, string arch, string dtype = "F32", Action<JsonObject>? editConfig = null,
        Action<List<(string Name, long[] Shape, float[] Values, string DType)>>? editTensors = null)
    {
        using var file = GgufFile.Open(Path(arch));
        var md = file.Metadata;
        Assert.Equal(arch, md.GetString("general.architecture"));
        var used = new HashSet<string>(StringComparer.Ordinal);
        GgufValue Key(string key)
        {
            used.Add($"{arch}.{key}");
            return md[$"{arch}.{key}"];
        }
        bool Has(string key) => md.Contains($"{arch}.{key}");
        int Int(string key) => (int)(uint)Key(key).Value;
        // The float32 value as the exact double: parsed back as a double and rounded to float32, as Python and the
        // converter read config.json, it gives the same float32.
        double Float(string key) => (float)Key(key).Value;

        var tokens = md.GetArray<string>("tokenizer.ggml.tokens")!;
        int embd = Int("embedding_length"), heads = Int("attention.head_count"), headDim = Has("attention.key_length") ? Int("attention.key_length") : embd / heads;
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(Names[arch].HfName),
            ["model_type"] = Names[arch].ModelType,
            ["hidden_size"] = embd,
            ["intermediate_size"] = Int("feed_forward_length"),
            ["num_hidden_layers"] = Int("block_count"),
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = Int("attention.head_count_kv"),
            ["max_position_embeddings"] = Int("context_length"),
            ["rms_norm_eps"] = Float("attention.layer_norm_rms_epsilon"),
            ["rope_theta"] = Float("rope.freq_base"),
            ["vocab_size"] = tokens.Length,
            ["bos_token_id"] = md.GetInt32("tokenizer.ggml.bos_token_id"),
            ["eos_token_id"] = md.GetInt32("tokenizer.ggml.eos_token_id"),
            ["tie_word_embeddings"] = file.FindTensor("output.weight") is null,
            ["torch_dtype"] = "float32",
        };
        if (Has("attention.key_length"))
        {
            config["head_dim"] = Int("attention.key_length");
            Assert.Equal(headDim, Int("attention.value_length"));
        }
        switch (arch)
        {
            case "llama":
                // LlamaModel writes rope.dimension_count = head_dim; the llama3 factors come back from rope_scaling.
                Assert.Equal(headDim, Int("rope.dimension_count"));
                Assert.NotNull(file.FindTensor("rope_freqs.weight"));
                config["rope_scaling"] = Llama3RopeScaling();
                break;
            case "gemma2":
                config["attn_logit_softcapping"] = Float("attn_logit_softcapping");
                config["final_logit_softcapping"] = Float("final_logit_softcapping");
                config["sliding_window"] = Int("attention.sliding_window");
                config["query_pre_attn_scalar"] = headDim;
                break;
            case "gemma3":
                config["sliding_window"] = Int("attention.sliding_window");
                config["sliding_window_pattern"] = Int("attention.sliding_window_pattern");
                config["rope_local_base_freq"] = Float("rope.freq_base_swa");
                config["query_pre_attn_scalar"] = headDim;
                config["final_logit_softcapping"] = null;
                config["attn_logit_softcapping"] = null;
                break;
            case "phi3":
                int rot = Int("rope.dimension_count");
                config["partial_rotary_factor"] = (double)rot / headDim;
                config["original_max_position_embeddings"] = Int("rope.scaling.original_context_length");
                config["rope_scaling"] = new JsonObject
                {
                    ["type"] = "longrope",
                    ["long_factor"] = Factors(file, "rope_factors_long.weight"),
                    ["short_factor"] = Factors(file, "rope_factors_short.weight"),
                };
                break;
        }
        var left = md.Keys.Where(k => k.StartsWith(arch + ".", StringComparison.Ordinal) && !used.Contains(k)).ToList();
        Assert.True(left.Count == 0, $"the inverse does not turn {string.Join(", ", left)} into config.json");
        editConfig?.Invoke(config);
        Directory.CreateDirectory(directory);
        File.WriteAllText(System.IO.Path.Combine(directory, "config.json"), config.ToJsonString(new() { WriteIndented = true }));

        var tensors = new List<(string Name, long[] Shape, float[] Values, string DType)>();
        foreach (var t in file.Tensors)
        {
            if (t.Name is "rope_freqs.weight" or "rope_factors_long.weight" or "rope_factors_short.weight")
                continue; // computed from config.json
            float[] values = ConvertFixture.ReadFloats(file, t.Name);
            string local = t.Name.StartsWith("blk.", StringComparison.Ordinal) ? t.Name[(t.Name.IndexOf('.', 4) + 1)..] : t.Name;
            if (arch == "llama" && local == "attn_q.weight")
                values = HuggingFaceWriter.ToRotateHalf(values, heads, (int)t.Shape[0]);
            if (arch == "llama" && local == "attn_k.weight")
                values = HuggingFaceWriter.ToRotateHalf(values, Int("attention.head_count_kv"), (int)t.Shape[0]);
            if (arch.StartsWith("gemma", StringComparison.Ordinal) && local.EndsWith("norm.weight", StringComparison.Ordinal))
                values = MinusOne(t.Name, values);
            tensors.Add((HfName(arch, t.Name), [.. t.Shape.Reverse()], values, dtype));
        }
        editTensors?.Invoke(tensors);
        SafetensorsWriter.Write(System.IO.Path.Combine(directory, "model.safetensors"), tensors);

        var scores = md.GetArray<float>("tokenizer.ggml.scores")!;
        var types = md.GetArray<int>("tokenizer.ggml.token_type")!;
        File.WriteAllBytes(System.IO.Path.Combine(directory, "tokenizer.model"), HuggingFaceWriter.SentencePieceProto(tokens, scores, types));
        HuggingFaceWriter.WriteTokenizerConfig(directory);
    }

    /// <summary>
    /// transformers' name of a GGUF tensor, as tensor_mapping.py maps it for that architecture (Gemma's ffn_norm is
    /// the pre-feed-forward norm, its post_attention_layernorm a norm of its own; Phi-3's ffn_up is gate_up_proj).
    /// </summary>
    public static string HfName(string arch, string ggufName)
    {
        bool gemma = arch.StartsWith("gemma", StringComparison.Ordinal);
        switch (ggufName)
        {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
        }
        string[] parts = ggufName.Split('.'); // blk, i, name, weight|bias
        Assert.True(parts is ["blk", _, _, "weight" or "bias"], $"unexpected tensor {ggufName}");
        string module = parts[2] switch
        {
            "attn_norm" => "input_layernorm",
            "attn_q" => "self_attn.q_proj",
            "attn_k" => "self_attn.k_proj",
            "attn_v" => "self_attn.v_proj",
            "attn_qkv" => "self_attn.qkv_proj",
            "attn_output" => "self_attn.o_proj",
            "attn_q_norm" => "self_attn.q_norm",
            "attn_k_norm" => "self_attn.k_norm",
            "post_attention_norm" when gemma => "post_attention_layernorm",
            "ffn_norm" => gemma ? "pre_feedforward_layernorm" : "post_attention_layernorm",
            "post_ffw_norm" when gemma => "post_feedforward_layernorm",
            "ffn_gate" => "mlp.gate_proj",
            "ffn_up" => arch == "phi3" ? "mlp.gate_up_proj" : "mlp.up_proj",
            "ffn_down" => "mlp.down_proj",
            _ => throw new InvalidOperationException($"no HF name for {ggufName} in {arch}"),
        };
        return $"model.layers.{parts[1]}.{module}.{parts[3]}";
    }

    /// <summary>
    /// Gemma's norm weight as transformers stores it (GemmaRMSNorm multiplies by 1 + w). The conversion's + 1 gives
    /// back the file's value bit for bit only where float32's w - 1 and (w - 1) + 1 are both exact; that holds for
    /// every norm of the shared files (in [0.5, 2] by Sterbenz's lemma, the output norms in [8.5, 16) because w and
    /// w - 1 share one binade's spacing), and is checked here so that the round trip's bound stays zero.
    /// </summary>
    private static float[] MinusOne(string name, float[] values)
    {
        var result = Array.ConvertAll(values, w => w - 1f);
        for (int i = 0; i < values.Length; i++)
            Assert.True(result[i] + 1f == values[i], $"{name}[{i}] = {values[i]:R}: (w - 1) + 1 is not exact in float32");
        return result;
    }

    private static JsonArray Factors(GgufFile file, string name) =>
        [.. ConvertFixture.ReadFloats(file, name).Select(f => (JsonNode)JsonValue.Create((double)f))];
}
