using System.Buffers.Binary;
using System.Text;
using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// Writes 2023 llama.cpp model files (ggml, ggmf v1, ggjt v1-v3) from a llama GGUF, as old convert.py and
/// llama.cpp's quantizer did: legacy tensor names, the vocabulary with spaces as spaces and byte pieces as raw
/// bytes, and quantized blocks in the layout of the version (float32 scales before ggjt v3, interleaved Q4 nibbles
/// before ggjt v2).
/// </summary>
internal static class LegacyGgmlWriter
{
    public const uint Ggml = 0x67676d6c, Ggmf = 0x67676d66, Ggjt = 0x67676a74;

    /// <param name="typeOverride">Writes this legacy type id in every tensor record instead of the real one (for
    /// error tests).</param>
    /// <param name="rename">Gives a tensor another name, from its legacy one (for error tests).</param>
    public static void Write(string path, string gguf, uint magic, uint version, uint? typeOverride = null, Func<string, string>? rename = null)
    {
        using var file = GgufFile.Open(gguf);
        var md = file.Metadata;
        var tokens = md.GetArray<string>("tokenizer.ggml.tokens")!;
        var scores = md.GetArray<float>("tokenizer.ggml.scores")!;
        var types = md.GetArray<int>("tokenizer.ggml.token_type")!;
        int embd = md.GetInt32("llama.embedding_length"), heads = md.GetInt32("llama.attention.head_count");
        using var s = new BinaryWriter(File.Create(path));
        s.Write(magic);
        if (magic != Ggml)
            s.Write(version);
        int fileType = md.GetInt32("general.file_type", 0);
        foreach (int v in new[] { tokens.Length, embd, 256, heads, md.GetInt32("llama.block_count"), embd / heads, fileType })
            s.Write(v);
        for (int id = 0; id < tokens.Length; id++)
        {
            byte[] text = (TokenType)types[id] switch
            {
                TokenType.Unknown => Encoding.UTF8.GetBytes(" \u2047 "),
                TokenType.Control => [],
                TokenType.Byte => [System.Convert.ToByte(tokens[id][3..5], 16)],
                _ => Encoding.UTF8.GetBytes(tokens[id].Replace('\u2581', ' ')),
            };
            s.Write(text.Length);
            s.Write(text);
            if (magic != Ggml)
                s.Write(scores[id]);
        }
        foreach (var t in file.Tensors)
        {
            byte[] name = Encoding.UTF8.GetBytes(rename is null ? LegacyName(t.Name) : rename(LegacyName(t.Name)));
            s.Write(t.Shape.Length);
            s.Write(name.Length);
            s.Write(typeOverride ?? (uint)t.Type);
            foreach (long d in t.Shape)
                s.Write((int)d);
            s.Write(name);
            if (magic == Ggjt)
                s.Write(new byte[(32 - s.BaseStream.Position % 32) % 32]);
            s.Write(LegacyBlocks(file.GetData(t), t.Type, magic, version));
        }
    }

    private static string LegacyName(string gguf) => gguf switch
    {
        "token_embd.weight" => "tok_embeddings.weight",
        "output_norm.weight" => "norm.weight",
        "output.weight" => "output.weight",
        _ => LayerName(gguf),
    };

    private static string LayerName(string gguf)
    {
        string[] p = gguf.Split('.');
        string rest = p[2] switch
        {
            "attn_q" => "attention.wq",
            "attn_k" => "attention.wk",
            "attn_v" => "attention.wv",
            "attn_output" => "attention.wo",
            "attn_norm" => "attention_norm",
            "ffn_gate" => "feed_forward.w1",
            "ffn_down" => "feed_forward.w2",
            "ffn_up" => "feed_forward.w3",
            "ffn_norm" => "ffn_norm",
            _ => throw new ArgumentException(gguf),
        };
        return $"layers.{p[1]}.{rest}.weight";
    }

    /// <summary>Today's blocks in the layout of an older file version.</summary>
    private static byte[] LegacyBlocks(ReadOnlySpan<byte> data, GgmlType type, uint magic, uint version)
    {
        bool f32Scales = magic != Ggjt || version < 3, interleaved = magic != Ggjt || version < 2;
        if (!f32Scales || type is not (GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q8_0))
            return data.ToArray();
        int scales = type == GgmlType.Q4_1 ? 2 : 1, payload = type == GgmlType.Q8_0 ? 32 : 16;
        int newBlock = scales * 2 + payload, oldBlock = scales * 4 + payload;
        var result = new byte[data.Length / newBlock * oldBlock];
        Span<byte> q = stackalloc byte[32];
        for (int b = 0; b < data.Length / newBlock; b++)
        {
            var src = data.Slice(b * newBlock, newBlock);
            var dst = result.AsSpan(b * oldBlock, oldBlock);
            for (int i = 0; i < scales; i++)
                BinaryPrimitives.WriteSingleLittleEndian(dst[(i * 4)..], (float)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]));
            var qs = src[(scales * 2)..];
            var outQs = dst[(scales * 4)..];
            if (type == GgmlType.Q8_0 || !interleaved)
            {
                qs.CopyTo(outQs);
                continue;
            }
            // Today: byte i = element i | element i+16 << 4. Before ggjt v2: byte i = element 2i | element 2i+1 << 4.
            for (int i = 0; i < 16; i++)
            {
                q[i] = (byte)(qs[i] & 0x0F);
                q[i + 16] = (byte)(qs[i] >> 4);
            }
            for (int i = 0; i < 16; i++)
                outQs[i] = (byte)(q[2 * i] | q[2 * i + 1] << 4);
        }
        return result;
    }
}
