using System.Buffers.Binary;
using System.Text;
using LlamaAot.Diagnostics;
using LlamaAot.Files;
using LlamaAot.Gguf;
using LlamaAot.Quants;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>
/// Converts the llama.cpp model files of 2023, before GGUF: <c>ggml</c> (unversioned), <c>ggmf</c> v1 (adds
/// vocabulary scores) and <c>ggjt</c> v1-v3 (tensor data aligned to 32 bytes), as convert_llama_ggml_to_gguf.py
/// does. Their tensors are already in llama.cpp's rotary layout. Quantized blocks changed twice in that time, and
/// are rewritten in today's layout:
/// <list type="bullet">
/// <item>before ggjt v2 (llama.cpp PR 1405) Q4_0 and Q4_1 packed element 2i in the low and 2i+1 in the high nibble
/// of byte i; since then byte i holds elements i and i+16;</item>
/// <item>before ggjt v3 (PR 1508) the scales of Q4_0, Q4_1 (d and m) and Q8_0 were float32; since then float16
/// (rounded to nearest, the only lossy step).</item>
/// </list>
/// Q5_0/Q5_1 from before ggjt v2 (their old bit order) and the retired Q4_2/Q4_3 are refused with an error that
/// names them. K-quants (ggjt v3 only) are copied as they are.
/// </summary>
public static class LegacyGgmlConverter
{
    public const uint MagicGgml = 0x67676d6c, MagicGgmf = 0x67676d66, MagicGgjt = 0x67676a74, MagicGgla = 0x67676c61;

    private const int GgjtAlignment = 32;

    /// <summary>convert_llama_ggml_to_gguf.py's defaults: the files do not record these.</summary>
    public const int DefaultContextLength = 2048;

    public const float DefaultRmsEps = 5e-6f;

    public static bool IsLegacyMagic(uint magic) => magic is MagicGgml or MagicGgmf or MagicGgjt or MagicGgla;

    /// <summary>The file's format and version, e.g. "ggjt v3 file".</summary>
    public static string Describe(string path)
    {
        using var file = MappedFile.Open(path);
        var header = ReadHeader(file);
        return $"{header.Format} file";
    }

    private sealed record Header(uint Magic, uint Version, string Format, int NVocab, int NEmbd, int NMult, int NHead, int NLayer, int NRot, int FileType, long VocabOffset);

    private sealed record Tensor(string Name, long[] Shape, uint Type, long Offset, long Bytes);

    /// <summary>Converts <paramref name="source"/> into <paramref name="output"/>.</summary>
    /// <param name="outType"><see cref="OutType.Auto"/> keeps each tensor's type (in today's layout).</param>
    /// <param name="contextLength">The training context to record (the files do not say).</param>
    /// <param name="rmsEps">The RMSNorm epsilon to record: 1e-5 for Llama 2, 1e-6 for LLaMA 1 (the files do not say).</param>
    public static long Convert(string source, string output, OutType outType = OutType.Auto, int contextLength = DefaultContextLength, float rmsEps = DefaultRmsEps)
    {
        using var outputFile = AtomicOutputFile.Create(output, source);
        using var file = MappedFile.Open(source);
        var header = ReadHeader(file);
        var (vocabulary, tensorStart) = ReadVocabulary(file, header);
        var tensors = ReadTensors(file, header, tensorStart);
        var byName = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in tensors)
        {
            if (!byName.TryAdd(t.Name, t))
                throw new ConversionException($"{source}: tensor {Excerpt.Quote(t.Name)} appears twice in the file");
        }

        Tensor Need(string name) => byName.TryGetValue(name, out var t) ? t : throw new ConversionException($"{source}: tensor '{name}' is missing");
        // The header's sizes become the GGUF's hyperparameters: they must be the tensors' own.
        var embedding = Need("tok_embeddings.weight");
        if (embedding.Shape[0] != header.NEmbd)
            throw new ConversionException($"{source}: n_embd {header.NEmbd} in the {header.Format} header does not match tensor 'tok_embeddings.weight' [{string.Join(", ", embedding.Shape)}]");
        int layers = 0;
        while (byName.ContainsKey($"layers.{layers}.attention_norm.weight"))
            layers++;
        if (header.NLayer != layers)
            throw new ConversionException(
                $"{source}: n_layer {header.NLayer} in the {header.Format} header, but the file holds the tensors of {layers} layers{(layers > 0 ? $" (layers.0 to layers.{layers - 1})" : "")}");
        int headDim = header.NEmbd / header.NHead;
        Tensor Matrix(string name)
        {
            var t = Need(name);
            return t.Shape.Length == 2 ? t : throw new ConversionException($"{source}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], not a matrix's");
        }
        var wk = Matrix("layers.0.attention.wk.weight");
        var w1 = Matrix("layers.0.feed_forward.w1.weight");
        var h = new LlamaHyperparameters(contextLength, header.NEmbd, header.NLayer, (int)w1.Shape[1], header.NHead,
            (int)(wk.Shape[1] / headDim), header.NRot, rmsEps);

        var writer = new GgufWriter();
        LlamaGgufMetadata.AddHyperparameters(writer, Path.GetFileNameWithoutExtension(source), h);
        // The legacy ftype numbers are llama_ftype's, except 4 (Q4_1 with some F16), which GGUF no longer names.
        LlamaFileType fileType = outType != OutType.Auto ? OutTypes.FileType(outType, GgmlType.F32)
            : header.FileType % 1000 == 4 ? LlamaFileType.MostlyQ4_1
            : Enum.IsDefined((LlamaFileType)(header.FileType % 1000)) ? (LlamaFileType)(header.FileType % 1000)
            : throw new ConversionException($"{source}: unknown file type {header.FileType} in the {header.Format} header");
        LlamaGgufMetadata.AddFileType(writer, fileType);
        LlamaGgufMetadata.AddVocabulary(writer, vocabulary);

        foreach (var t in tensors)
        {
            string name = GgufName(source, t.Name);
            var (type, rowBytes) = ModernType(source, header, t);
            long rows = t.Shape.Skip(1).Aggregate(1L, (a, b) => a * b), legacyRowBytes = t.Bytes / rows;
            // Norms are computed in F32 whatever the file held; matrices keep their type unless --outtype says otherwise.
            GgmlType target = outType != OutType.Auto ? OutTypes.For(outType, type, t.Shape) : t.Shape.Length < 2 ? GgmlType.F32 : type;
            var sourceFormat = Formats.Get(type);
            var targetFormat = Formats.Get(target);
            writer.AddTensor(name, t.Shape, target, stream =>
            {
                var legacy = new byte[legacyRowBytes];
                var modern = new byte[rowBytes];
                float[] values = target == type ? [] : new float[t.Shape[0]];
                byte[] encoded = target == type ? [] : new byte[targetFormat.RowBytes(t.Shape[0])];
                for (long r = 0; r < rows; r++)
                {
                    file.Bytes(t.Offset + r * legacyRowBytes, legacyRowBytes, name).CopyTo(legacy);
                    Modernize(header, type, legacy, modern);
                    if (target == type)
                    {
                        stream.Write(modern);
                        continue;
                    }
                    sourceFormat.DequantizeFast(modern, values);
                    targetFormat.QuantizeFast(values, encoded);
                    stream.Write(encoded);
                }
            });
        }
        long length = writer.WriteTo(outputFile);
        outputFile.Commit();
        return length;
    }

    private static Header ReadHeader(MappedFile file)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file.Bytes(0, 4, "the magic"));
        uint version = 0;
        long at = 4;
        string format;
        switch (magic)
        {
            case MagicGgml:
                format = "ggml (unversioned)";
                break;
            case MagicGgmf:
            case MagicGgjt:
                version = BinaryPrimitives.ReadUInt32LittleEndian(file.Bytes(4, 4, "the version"));
                at = 8;
                format = $"{(magic == MagicGgmf ? "ggmf" : "ggjt")} v{version}";
                bool known = magic == MagicGgmf ? version == 1 : version is >= 1 and <= 3;
                if (!known)
                    throw new ConversionException(
                        $"{file.Path}: {format} is not a known legacy llama.cpp format (known: ggml, ggmf v1, ggjt v1-v3)");
                break;
            case MagicGgla:
                throw new ConversionException($"{file.Path}: a ggla file is a LoRA adapter, not a model: it cannot be converted on its own");
            default:
                throw new ConversionException($"{file.Path}: bad magic 0x{magic:x8}: not a ggml, ggmf or ggjt file");
        }
        byte[] hp = file.Bytes(at, 7 * 4, "the hyperparameters").ToArray();
        int Int(int i) => BinaryPrimitives.ReadInt32LittleEndian(hp.AsSpan(i * 4, 4));
        var header = new Header(magic, version, format, Int(0), Int(1), Int(2), Int(3), Int(4), Int(5), Int(6), at + 7 * 4);
        if (header.NVocab <= 0 || header.NEmbd <= 0 || header.NHead <= 0 || header.NLayer <= 0 || header.NRot <= 0 || header.NEmbd % header.NHead != 0)
            throw new ConversionException(
                $"{file.Path}: {format} file with invalid hyperparameters (n_vocab {header.NVocab}, n_embd {header.NEmbd}, n_head {header.NHead}, n_layer {header.NLayer}, n_rot {header.NRot})");
        return header;
    }

    /// <summary>
    /// The vocabulary (u32 length, bytes, and from ggmf on a float score), as convert_llama_ggml_to_gguf.py maps
    /// it: old convert.py wrote spaces as spaces, byte pieces as the raw byte, control pieces empty and
    /// &lt;unk&gt; as " ⁇ ". Unversioned ggml files have no scores: -id stands in, which orders SentencePiece BPE
    /// pieces as their scores did.
    /// </summary>
    private static (SpmVocabulary, long) ReadVocabulary(MappedFile file, Header header)
    {
        bool hasScores = header.Magic != MagicGgml;
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        int n = header.NVocab;
        // Checked before the arrays are sized by it: every token takes its length field (and a score from ggmf on).
        int minTokenBytes = hasScores ? 8 : 4;
        long remaining = file.Length - header.VocabOffset;
        if (n > remaining / minTokenBytes)
            throw new ConversionException(
                $"{file.Path}: n_vocab {n} in the {header.Format} header cannot fit in the file: each token takes at least {minTokenBytes} bytes, and {remaining} bytes follow the header");
        var tokens = new string[n];
        var scores = new float[n];
        var types = new TokenType[n];
        long at = header.VocabOffset;
        for (int id = 0; id < n; id++)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(file.Bytes(at, 4, $"the length of token {id}"));
            var bytes = file.Bytes(at + 4, length, $"token {id}");
            at += 4 + length;
            scores[id] = hasScores ? BinaryPrimitives.ReadSingleLittleEndian(file.Bytes(at, 4, $"the score of token {id}")) : -id;
            if (hasScores)
                at += 4;
            if (bytes.Length == 1 && id is >= 3 and <= 258)
            {
                tokens[id] = $"<0x{bytes[0]:X2}>";
                types[id] = TokenType.Byte;
                continue;
            }
            string text;
            try
            {
                text = utf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new ConversionException($"{file.Path}: token {id} is not valid UTF-8");
            }
            (tokens[id], types[id]) = (id, text) switch
            {
                (0, " \u2047 ") => ("<unk>", TokenType.Unknown),
                (1, "") => ("<s>", TokenType.Control),
                (2, "") => ("</s>", TokenType.Control),
                (_, "") => ("", TokenType.Control),
                _ => (LlamaGgufMetadata.EscapeSpaces(text), TokenType.Normal),
            };
        }
        return (new SpmVocabulary(tokens, scores, types), at);
    }

    private static List<Tensor> ReadTensors(MappedFile file, Header header, long at)
    {
        var tensors = new List<Tensor>();
        while (at < file.Length)
        {
            var record = file.Bytes(at, 12, $"tensor record {tensors.Count}");
            int dims = BinaryPrimitives.ReadInt32LittleEndian(record), nameLength = BinaryPrimitives.ReadInt32LittleEndian(record[4..]);
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
            if (dims is < 1 or > 2 || nameLength is <= 0 or > 1024)
                throw new ConversionException($"{file.Path}: corrupt tensor record {tensors.Count} at offset {at}: {dims} dimensions, name of {nameLength} bytes");
            at += 12;
            var ne = file.Bytes(at, dims * 4L, $"the shape of tensor {tensors.Count}");
            long[] shape = new long[dims];
            for (int d = 0; d < dims; d++)
            {
                shape[d] = BinaryPrimitives.ReadInt32LittleEndian(ne[(d * 4)..]);
                if (shape[d] <= 0)
                    throw new ConversionException($"{file.Path}: tensor {tensors.Count} at offset {at - 12} has dimension {d} = {shape[d]}");
            }
            at += dims * 4L;
            string name = Encoding.UTF8.GetString(file.Bytes(at, nameLength, $"the name of tensor {tensors.Count}"));
            at += nameLength;
            if (header.Magic == MagicGgjt)
                at = (at + GgjtAlignment - 1) / GgjtAlignment * GgjtAlignment;
            long bytes = LegacyRowBytes(file.Path, header, name, type, shape[0]) * (dims == 2 ? shape[1] : 1);
            file.Bytes(at, bytes, $"the data of tensor {Excerpt.Quote(name)}"); // checks it is all there
            tensors.Add(new Tensor(name, shape, type, at, bytes));
            at += bytes;
        }
        return tensors;
    }

    /// <summary>Whether the blocks of <paramref name="type"/> have the float32 scales of before ggjt v3.</summary>
    private static bool HasF32Scales(Header h) => h.Magic != MagicGgjt || h.Version < 3;

    /// <summary>Whether Q4_0/Q4_1 nibbles are in the interleaved order of before ggjt v2.</summary>
    private static bool HasInterleavedNibbles(Header h) => h.Magic != MagicGgjt || h.Version < 2;

    private static long LegacyRowBytes(string path, Header h, string name, uint type, long k)
    {
        var (modern, _) = ModernType(path, h, new Tensor(name, [k], type, 0, 0));
        var g = GgmlTypes.GeometryOf(modern);
        if (k % g.BlockSize != 0)
            throw new ConversionException($"{path}: tensor {Excerpt.Quote(name)} ({modern}) has rows of {k} values, not a multiple of {g.BlockSize}");
        int extra = HasF32Scales(h) ? modern switch
        {
            GgmlType.Q4_0 or GgmlType.Q8_0 => 2, // float32 d instead of float16
            GgmlType.Q4_1 => 4,                  // float32 d and m
            _ => 0,
        } : 0;
        return k / g.BlockSize * (g.BlockBytes + extra);
    }

    /// <summary>The GGUF type a legacy tensor becomes and its row size there; a clear error for what cannot be read.</summary>
    private static (GgmlType Type, long RowBytes) ModernType(string path, Header h, Tensor t)
    {
        string where = $"{path}: tensor {Excerpt.Quote(t.Name)} of this {h.Format} file";
        var type = t.Type switch
        {
            0 => GgmlType.F32,
            1 => GgmlType.F16,
            2 => GgmlType.Q4_0,
            3 => GgmlType.Q4_1,
            4 or 5 => throw new ConversionException($"{where} is {(t.Type == 4 ? "Q4_2" : "Q4_3")}, a type ggml retired in May 2023: not supported"),
            6 => GgmlType.Q5_0,
            7 => GgmlType.Q5_1,
            8 => GgmlType.Q8_0,
            >= 10 and <= 14 => (GgmlType)t.Type, // Q2_K..Q6_K, unchanged since
            _ => throw new ConversionException($"{where} has ggml type {t.Type}, which a legacy llama file cannot hold"),
        };
        if (type is GgmlType.Q5_0 or GgmlType.Q5_1 && HasInterleavedNibbles(h))
            throw new ConversionException(
                $"{where} is {type} in the bit order of before ggjt v2 (llama.cpp PR 1405): not supported; re-quantize the model from F16");
        if (type >= GgmlType.Q2_K && (h.Magic != MagicGgjt || h.Version < 3))
            throw new ConversionException($"{where} is {type}, which only ggjt v3 files can hold: the file is corrupt");
        return (type, GgmlTypes.RowBytes(type, t.Shape[0]));
    }

    /// <summary>Rewrites one row of legacy blocks in today's layout.</summary>
    private static void Modernize(Header h, GgmlType type, ReadOnlySpan<byte> legacy, Span<byte> modern)
    {
        if (!HasF32Scales(h) || type is not (GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q8_0))
        {
            legacy.CopyTo(modern);
            return;
        }
        int scales = type == GgmlType.Q4_1 ? 2 : 1, payload = type == GgmlType.Q8_0 ? 32 : 16;
        int oldBlock = scales * 4 + payload, newBlock = scales * 2 + payload;
        bool interleaved = type != GgmlType.Q8_0 && HasInterleavedNibbles(h);
        Span<byte> q = stackalloc byte[32];
        for (int b = 0; b < legacy.Length / oldBlock; b++)
        {
            var src = legacy.Slice(b * oldBlock, oldBlock);
            var dst = modern.Slice(b * newBlock, newBlock);
            for (int s = 0; s < scales; s++)
                BinaryPrimitives.WriteHalfLittleEndian(dst[(s * 2)..], (Half)BinaryPrimitives.ReadSingleLittleEndian(src[(s * 4)..]));
            var qs = src[(scales * 4)..];
            var outQs = dst[(scales * 2)..];
            if (!interleaved)
            {
                qs.CopyTo(outQs);
                continue;
            }
            // Old: byte i = element 2i | element 2i+1 << 4. New: byte i = element i | element i+16 << 4.
            for (int i = 0; i < 16; i++)
            {
                q[2 * i] = (byte)(qs[i] & 0x0F);
                q[2 * i + 1] = (byte)(qs[i] >> 4);
            }
            for (int i = 0; i < 16; i++)
                outQs[i] = (byte)(q[i] | q[i + 16] << 4);
        }
    }

    private static string GgufName(string path, string legacy)
    {
        switch (legacy)
        {
            case "tok_embeddings.weight": return "token_embd.weight";
            case "norm.weight": return "output_norm.weight";
            case "output.weight": return "output.weight";
        }
        string[] parts = legacy.Split('.');
        if (parts.Length >= 3 && parts[0] == "layers" && int.TryParse(parts[1], out int layer))
        {
            string rest = string.Join('.', parts[2..]);
            string? mapped = rest switch
            {
                "attention.wq.weight" => "attn_q.weight",
                "attention.wk.weight" => "attn_k.weight",
                "attention.wv.weight" => "attn_v.weight",
                "attention.wo.weight" => "attn_output.weight",
                "attention_norm.weight" => "attn_norm.weight",
                "feed_forward.w1.weight" => "ffn_gate.weight",
                "feed_forward.w2.weight" => "ffn_down.weight",
                "feed_forward.w3.weight" => "ffn_up.weight",
                "ffn_norm.weight" => "ffn_norm.weight",
                _ => null,
            };
            if (mapped is not null)
                return $"blk.{layer}.{mapped}";
        }
        throw new ConversionException($"{path}: tensor {Excerpt.Quote(legacy)} has no place in a llama model");
    }
}
