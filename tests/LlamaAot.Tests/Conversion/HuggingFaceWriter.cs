using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LlamaAot.Gguf;
using LlamaAot.Quants;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// Writes a small Hugging Face llama directory the way transformers saves one, from a llama GGUF (stories260K):
/// config.json, safetensors (single or sharded, F32/F16/BF16, q/k permuted into HF's rotate-half layout) and the
/// tokenizer as a SentencePiece tokenizer.model or a tokenizer.json.
/// </summary>
internal static class HuggingFaceWriter
{
    public enum Tokenizer { SentencePiece, Json }

    public static void Write(string directory, string gguf, string dtype, int shards = 1, Tokenizer tokenizer = Tokenizer.SentencePiece, bool normsF32 = true)
    {
        using var file = GgufFile.Open(gguf);
        var md = file.Metadata;
        int embd = md.GetInt32("llama.embedding_length"), layers = md.GetInt32("llama.block_count");
        int heads = md.GetInt32("llama.attention.head_count"), kvHeads = md.GetInt32("llama.attention.head_count_kv");
        var tokens = md.GetArray<string>("tokenizer.ggml.tokens")!;
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), $$"""
            {
              "architectures": ["LlamaForCausalLM"],
              "model_type": "llama",
              "hidden_size": {{embd}},
              "intermediate_size": {{md.GetInt32("llama.feed_forward_length")}},
              "num_hidden_layers": {{layers}},
              "num_attention_heads": {{heads}},
              "num_key_value_heads": {{kvHeads}},
              "max_position_embeddings": 512,
              "rms_norm_eps": 1e-05,
              "rope_theta": 10000.0,
              "tie_word_embeddings": true,
              "vocab_size": {{tokens.Length}},
              "bos_token_id": 1,
              "eos_token_id": 2,
              "torch_dtype": "float32"
            }
            """);

        // HF names and PyTorch shapes ([rows, row length]); stories260K's classifier is tied, so no lm_head.
        // Norms stay F32 by default, as in checkpoints saved with fp32 norm modules: llama.cpp's F16/BF16 files keep
        // them F32 too, so the conversion can be compared with those byte for byte.
        var tensors = new List<(string Name, long[] Shape, float[] Values, string DType)>();
        void Add(string hfName, string ggufName, int? permuteHeads = null)
        {
            var info = file.FindTensor(ggufName)!;
            float[] values = ConvertFixture.ReadFloats(file, ggufName);
            if (permuteHeads is { } h)
                values = ToRotateHalf(values, h, (int)info.Shape[0]);
            tensors.Add((hfName, [.. info.Shape.Reverse()], values, info.Shape.Length == 1 && normsF32 ? "F32" : dtype));
        }
        Add("model.embed_tokens.weight", "token_embd.weight");
        for (int i = 0; i < layers; i++)
        {
            string p = $"model.layers.{i}.", g = $"blk.{i}.";
            Add(p + "input_layernorm.weight", g + "attn_norm.weight");
            Add(p + "self_attn.q_proj.weight", g + "attn_q.weight", heads);
            Add(p + "self_attn.k_proj.weight", g + "attn_k.weight", kvHeads);
            Add(p + "self_attn.v_proj.weight", g + "attn_v.weight");
            Add(p + "self_attn.o_proj.weight", g + "attn_output.weight");
            Add(p + "post_attention_layernorm.weight", g + "ffn_norm.weight");
            Add(p + "mlp.gate_proj.weight", g + "ffn_gate.weight");
            Add(p + "mlp.up_proj.weight", g + "ffn_up.weight");
            Add(p + "mlp.down_proj.weight", g + "ffn_down.weight");
        }
        Add("model.norm.weight", "output_norm.weight");

        if (shards == 1)
        {
            SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), tensors);
        }
        else
        {
            var weightMap = new Dictionary<string, string>();
            int perShard = (tensors.Count + shards - 1) / shards;
            for (int s = 0; s < shards; s++)
            {
                string name = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
                var part = tensors.Skip(s * perShard).Take(perShard).ToList();
                SafetensorsWriter.Write(Path.Combine(directory, name), part);
                foreach (var t in part)
                    weightMap[t.Name] = name;
            }
            using var stream = File.Create(Path.Combine(directory, "model.safetensors.index.json"));
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteStartObject("metadata");
            json.WriteNumber("total_size", tensors.Sum(t => (long)t.Values.Length * (t.DType == "F32" ? 4 : 2)));
            json.WriteEndObject();
            json.WriteStartObject("weight_map");
            foreach (var (k, v) in weightMap)
                json.WriteString(k, v);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        var scores = md.GetArray<float>("tokenizer.ggml.scores")!;
        var types = md.GetArray<int>("tokenizer.ggml.token_type")!;
        if (tokenizer == Tokenizer.SentencePiece)
            File.WriteAllBytes(Path.Combine(directory, "tokenizer.model"), SentencePieceProto(tokens, scores, types));
        else
            File.WriteAllBytes(Path.Combine(directory, "tokenizer.json"), TokenizerJson(tokens, scores, types));
    }

    /// <summary>
    /// transformers' convert_llama_weights_to_hf.py permute: within each head, llama.cpp's row 2i+j (the pairs
    /// RoPE rotates together, adjacent) becomes row j*headDim/2+i (first halves, then second halves).
    /// </summary>
    public static float[] ToRotateHalf(float[] w, int heads, int rowLength)
    {
        int rows = w.Length / rowLength, headDim = rows / heads, half = headDim / 2;
        var result = new float[w.Length];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    w.AsSpan((h * headDim + 2 * i + j) * rowLength, rowLength).CopyTo(result.AsSpan((h * headDim + j * half + i) * rowLength));
        return result;
    }

    /// <summary>
    /// tokenizer_config.json and added_tokens.json as transformers saves them beside a Llama 2 tokenizer: add_bos_token
    /// and add_eos_token, the special tokens in added_tokens_decoder (keyed by id), and added tokens that name ids of
    /// the vocabulary (convert_hf_to_gguf.py overwrites those).
    /// </summary>
    public static void WriteTokenizerConfig(string directory)
    {
        static string Special(string content) =>
            $$"""{ "content": "{{content}}", "lstrip": false, "normalized": false, "rstrip": false, "single_word": false, "special": true }""";
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), $$"""
            {
              "add_bos_token": true,
              "add_eos_token": false,
              "added_tokens_decoder": {
                "0": {{Special("<unk>")}},
                "1": {{Special("<s>")}},
                "2": {{Special("</s>")}}
              },
              "bos_token": "<s>",
              "clean_up_tokenization_spaces": false,
              "eos_token": "</s>",
              "legacy": false,
              "model_max_length": 512,
              "pad_token": null,
              "sp_model_kwargs": {},
              "tokenizer_class": "LlamaTokenizer",
              "unk_token": "<unk>"
            }
            """);
        File.WriteAllText(Path.Combine(directory, "added_tokens.json"), """{ "<s>": 1, "</s>": 2 }""");
    }

    /// <summary>A SentencePiece ModelProto: pieces (1: piece, 2: score, 3: type), trainer spec (unk/bos/eos/pad ids
    /// 40-43), normalizer spec (3: add_dummy_prefix).</summary>
    public static byte[] SentencePieceProto(string[] tokens, float[] scores, int[] types)
    {
        var model = new ProtoWriter();
        for (int i = 0; i < tokens.Length; i++)
        {
            var piece = new ProtoWriter();
            piece.String(1, tokens[i]);
            piece.Float(2, scores[i]);
            piece.Varint(3, (ulong)types[i]);
            model.Message(1, piece);
        }
        var trainer = new ProtoWriter();
        trainer.String(1, "tinystories.txt"); // input: an unrelated field the reader must skip
        trainer.Varint(40, 0);
        trainer.Varint(41, 1);
        trainer.Varint(42, 2);
        trainer.Varint(43, unchecked((ulong)(long)-1)); // int32 -1, sign-extended as protobuf does
        model.Message(2, trainer);
        var normalizer = new ProtoWriter();
        normalizer.String(1, "identity");
        normalizer.Varint(3, 1);
        model.Message(3, normalizer);
        return model.ToArray();
    }

    /// <summary>
    /// A tokenizer.json as transformers' LlamaConverter writes one: BPE with byte fallback, merges for every piece
    /// that two pieces make, ordered by the merged piece's score (SentencePieceExtractor), special tokens added.
    /// </summary>
    public static byte[] TokenizerJson(string[] tokens, float[] scores, int[] types)
    {
        var index = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var merges = new List<(string Left, string Right, float Score, int Id, int LeftId, int RightId)>();
        for (int id = 0; id < tokens.Length; id++)
        {
            if (types[id] != (int)TokenType.Normal)
                continue;
            string piece = tokens[id];
            for (int split = 1; split < piece.Length; split++)
            {
                string left = piece[..split], right = piece[split..];
                if (char.IsLowSurrogate(right[0]))
                    continue;
                if (index.TryGetValue(left, out int l) && index.TryGetValue(right, out int r) && types[l] == 1 && types[r] == 1)
                    merges.Add((left, right, scores[id], id, l, r));
            }
        }
        var ordered = merges.OrderByDescending(m => m.Score).ThenBy(m => m.LeftId).ThenBy(m => m.RightId).ToList();

        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("version", "1.0");
            json.WriteStartArray("added_tokens");
            for (int id = 0; id < tokens.Length; id++)
            {
                if (types[id] is not ((int)TokenType.Control or (int)TokenType.Unknown))
                    continue;
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("content", tokens[id]);
                json.WriteBoolean("special", true);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteStartObject("model");
            json.WriteString("type", "BPE");
            json.WriteString("unk_token", "<unk>");
            json.WriteBoolean("fuse_unk", true);
            json.WriteBoolean("byte_fallback", true);
            json.WriteStartObject("vocab");
            for (int id = 0; id < tokens.Length; id++)
                json.WriteNumber(tokens[id], id);
            json.WriteEndObject();
            json.WriteStartArray("merges");
            foreach (var m in ordered)
                json.WriteStringValue($"{m.Left} {m.Right}");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    /// <summary>Protobuf wire format, the few field kinds a SentencePiece model uses.</summary>
    private sealed class ProtoWriter
    {
        private readonly MemoryStream _bytes = new();

        public void Varint(int field, ulong value)
        {
            Tag(field, 0);
            Raw(value);
        }

        public void Float(int field, float value)
        {
            Tag(field, 5);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, value);
            _bytes.Write(b);
        }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _bytes.ToArray();

        private void Bytes(int field, byte[] value)
        {
            Tag(field, 2);
            Raw((ulong)value.Length);
            _bytes.Write(value);
        }

        private void Tag(int field, int wire) => Raw((ulong)(field << 3 | wire));

        private void Raw(ulong v)
        {
            for (; v >= 0x80; v >>= 7)
                _bytes.WriteByte((byte)(v | 0x80));
            _bytes.WriteByte((byte)v);
        }
    }
}

/// <summary>Writes safetensors files: header length, JSON header (sorted names, __metadata__), data.</summary>
internal static class SafetensorsWriter
{
    public static void Write(string path, IReadOnlyList<(string Name, long[] Shape, float[] Values, string DType)> tensors)
    {
        var data = new MemoryStream();
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            foreach (var (name, shape, values, dtype) in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                long begin = data.Length;
                foreach (float v in values)
                    WriteValue(data, v, dtype);
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long d in shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(begin);
                json.WriteNumberValue(data.Length);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        while (header.Length % 8 != 0)
            header.WriteByte((byte)' '); // the format pads its header with spaces to 8 bytes
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        file.Write(length);
        header.Position = 0;
        header.CopyTo(file);
        data.Position = 0;
        data.CopyTo(file);
    }

    private static void WriteValue(Stream s, float v, string dtype)
    {
        Span<byte> b = stackalloc byte[4];
        switch (dtype)
        {
            case "F32":
                BinaryPrimitives.WriteSingleLittleEndian(b, v);
                s.Write(b);
                break;
            case "F16":
                BinaryPrimitives.WriteHalfLittleEndian(b, (Half)v);
                s.Write(b[..2]);
                break;
            case "BF16":
                BinaryPrimitives.WriteUInt16LittleEndian(b, Fp16.ToBFloat16Bits(v));
                s.Write(b[..2]);
                break;
            default:
                throw new ArgumentException(dtype);
        }
    }
}
