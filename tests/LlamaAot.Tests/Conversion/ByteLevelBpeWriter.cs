using System.Text.Json;
using System.Text.Json.Nodes;
using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// Writes Hugging Face directories with a byte-level BPE tokenizer.json: from a GGUF vocabulary by inverting
/// convert_hf_to_gguf.py's <c>_set_vocab_gpt2</c> (normal tokens into model.vocab, control and user-defined ones into
/// added_tokens, unused <c>[PADn]</c> ones left out, merges back into model.merges), beside a tiny model (hidden size 8,
/// one layer) whose embedding has a row per token, so that a 150k-token vocabulary converts in well under a second.
/// </summary>
internal static class ByteLevelBpeWriter
{
    private const int Embd = 8, Ff = 16, Heads = 2, KvHeads = 1;

    /// <summary>
    /// The normalizer, pre_tokenizer and decoder blocks of meta-llama/Meta-Llama-3-8B's tokenizer.json, as the file
    /// holds them (Llama 3.1 to 3.3 have the same).
    /// </summary>
    public static readonly (string Normalizer, string PreTokenizer, string Decoder) Llama3 = ("null", """
        {
          "type": "Sequence",
          "pretokenizers": [
            {
              "type": "Split",
              "pattern": {
                "Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
              },
              "behavior": "Isolated",
              "invert": false
            },
            {
              "type": "ByteLevel",
              "add_prefix_space": false,
              "trim_offsets": true,
              "use_regex": false
            }
          ]
        }
        """, """
        {
          "type": "ByteLevel",
          "add_prefix_space": true,
          "trim_offsets": true,
          "use_regex": true
        }
        """);

    /// <summary>The same blocks of Qwen/Qwen2.5-0.5B's tokenizer.json (Qwen 2 and 3 have the same).</summary>
    public static readonly (string Normalizer, string PreTokenizer, string Decoder) Qwen25 = ("""
        {
          "type": "NFC"
        }
        """, """
        {
          "type": "Sequence",
          "pretokenizers": [
            {
              "type": "Split",
              "pattern": {
                "Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
              },
              "behavior": "Isolated",
              "invert": false
            },
            {
              "type": "ByteLevel",
              "add_prefix_space": false,
              "trim_offsets": false,
              "use_regex": false
            }
          ]
        }
        """, """
        {
          "type": "ByteLevel",
          "add_prefix_space": false,
          "trim_offsets": false,
          "use_regex": false
        }
        """);

    /// <summary>The vocab_size of <see cref="SmallTokenizer"/>'s model.</summary>
    public const int SmallVocabSize = 8;

    /// <summary>A small byte-level BPE tokenizer.json with Llama 3's blocks: 5 model tokens, 2 special added tokens (ids
    /// 5 and 6; with <see cref="SmallVocabSize"/> id 7 has no token).</summary>
    public static JsonObject SmallTokenizer() => new()
    {
        ["version"] = "1.0",
        ["added_tokens"] = new JsonArray(AddedToken(5, "<|begin_of_text|>", true), AddedToken(6, "<|end_of_text|>", true)),
        ["normalizer"] = null,
        ["pre_tokenizer"] = JsonNode.Parse(Llama3.PreTokenizer),
        ["post_processor"] = null,
        ["decoder"] = JsonNode.Parse(Llama3.Decoder),
        ["model"] = new JsonObject
        {
            ["type"] = "BPE",
            ["byte_fallback"] = false,
            ["vocab"] = new JsonObject { ["!"] = 0, ["a"] = 1, ["b"] = 2, ["ab"] = 3, ["\u0120a"] = 4 },
            ["merges"] = new JsonArray("a b", "\u0120 a"),
        },
    };

    public static JsonObject AddedToken(int id, string content, bool special) =>
        new() { ["id"] = id, ["content"] = content, ["special"] = special, ["normalized"] = !special };

    /// <summary>
    /// config.json and model.safetensors of a tiny <paramref name="hfArchitecture"/> model with
    /// <paramref name="vocabSize"/> tokens (tied embeddings, zero weights: only the vocabulary is of interest).
    /// </summary>
    public static void WriteModel(string directory, string hfArchitecture, string modelType, int vocabSize, int? bos = null, int? eos = null)
    {
        Directory.CreateDirectory(directory);
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(hfArchitecture),
            ["model_type"] = modelType,
            ["hidden_size"] = Embd,
            ["intermediate_size"] = Ff,
            ["num_hidden_layers"] = 1,
            ["num_attention_heads"] = Heads,
            ["num_key_value_heads"] = KvHeads,
            ["max_position_embeddings"] = 64,
            ["rms_norm_eps"] = 1e-5,
            ["vocab_size"] = vocabSize,
            ["tie_word_embeddings"] = true,
            ["torch_dtype"] = "float32",
        };
        if (bos is { } b)
            config["bos_token_id"] = b;
        if (eos is { } e)
            config["eos_token_id"] = e;
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJsonString());

        int headDim = Embd / Heads;
        var tensors = new List<(string Name, long[] Shape, float[] Values, string DType)>();
        void Add(string name, params long[] shape) => tensors.Add((name, shape, new float[shape.Aggregate(1L, (a, d) => a * d)], "F32"));
        Add("model.embed_tokens.weight", vocabSize, Embd);
        Add("model.norm.weight", Embd);
        const string layer = "model.layers.0.";
        Add(layer + "input_layernorm.weight", Embd);
        Add(layer + "self_attn.q_proj.weight", Heads * headDim, Embd);
        Add(layer + "self_attn.k_proj.weight", KvHeads * headDim, Embd);
        Add(layer + "self_attn.v_proj.weight", KvHeads * headDim, Embd);
        Add(layer + "self_attn.o_proj.weight", Embd, Heads * headDim);
        Add(layer + "post_attention_layernorm.weight", Embd);
        Add(layer + "mlp.gate_proj.weight", Ff, Embd);
        Add(layer + "mlp.up_proj.weight", Ff, Embd);
        Add(layer + "mlp.down_proj.weight", Embd, Ff);
        SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), tensors);
    }

    /// <summary>
    /// tokenizer.json from a GGUF byte-level BPE vocabulary (<paramref name="metadata"/>), with the given blocks;
    /// merges as "a b" strings, or as [a, b] pairs (<paramref name="pairMerges"/>, transformers 4.45 and later).
    /// </summary>
    public static void WriteTokenizerJson(string directory, GgufMetadata metadata, (string Normalizer, string PreTokenizer, string Decoder) blocks, bool pairMerges)
    {
        var tokens = metadata.GetArray<string>("tokenizer.ggml.tokens")!;
        var types = metadata.GetArray<int>("tokenizer.ggml.token_type")!;
        var merges = metadata.GetArray<string>("tokenizer.ggml.merges")!;
        using var stream = File.Create(Path.Combine(directory, "tokenizer.json"));
        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WriteString("version", "1.0");
        json.WriteNull("truncation");
        json.WriteNull("padding");
        json.WriteStartArray("added_tokens");
        for (int id = 0; id < tokens.Length; id++)
        {
            if (types[id] is not ((int)TokenType.Control or (int)TokenType.UserDefined))
                continue;
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("content", tokens[id]);
            json.WriteBoolean("single_word", false);
            json.WriteBoolean("lstrip", false);
            json.WriteBoolean("rstrip", false);
            json.WriteBoolean("normalized", types[id] == (int)TokenType.UserDefined);
            json.WriteBoolean("special", types[id] == (int)TokenType.Control);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WritePropertyName("normalizer");
        json.WriteRawValue(blocks.Normalizer);
        json.WritePropertyName("pre_tokenizer");
        json.WriteRawValue(blocks.PreTokenizer);
        json.WriteNull("post_processor");
        json.WritePropertyName("decoder");
        json.WriteRawValue(blocks.Decoder);
        json.WriteStartObject("model");
        json.WriteString("type", "BPE");
        json.WriteNull("dropout");
        json.WriteNull("unk_token");
        json.WriteBoolean("fuse_unk", false);
        json.WriteBoolean("byte_fallback", false);
        json.WriteStartObject("vocab");
        for (int id = 0; id < tokens.Length; id++)
        {
            if (types[id] == (int)TokenType.Normal)
                json.WriteNumber(tokens[id], id);
        }
        json.WriteEndObject();
        json.WriteStartArray("merges");
        foreach (string merge in merges)
        {
            if (!pairMerges)
            {
                json.WriteStringValue(merge);
                continue;
            }
            int space = merge.IndexOf(' ');
            json.WriteStartArray();
            json.WriteStringValue(merge[..space]);
            json.WriteStringValue(merge[(space + 1)..]);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
