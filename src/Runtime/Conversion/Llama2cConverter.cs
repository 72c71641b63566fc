using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using LlamaAot.Files;
using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>
/// Converts a llama2.c checkpoint (karpathy/llama2.c <c>run.c</c> format) and its tokenizer (<c>tokenizer.bin</c>)
/// into a llama GGUF, as llama.cpp's <c>llama-convert-llama2c-to-ggml</c> does: same tensors in the same order
/// with the same bytes (llama2.c already stores q/k in llama.cpp's rotary layout, rotating adjacent pairs), same
/// vocabulary. Deliberate differences in metadata: <c>llama.context_length</c> is the checkpoint's
/// <c>seq_len</c> (llama.cpp hard-codes 128), <c>general.name</c> is the checkpoint's file name (llama.cpp writes
/// "llama"), and <c>llama.rope.freq_base</c> (10000, llama2.c's) and <c>general.file_type</c> are written.
/// </summary>
public static class Llama2cConverter
{
    /// <summary>run.c's <c>Config</c>: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
    /// seq_len). A negative vocab_size means the classifier is not shared with the token embedding.</summary>
    public const int HeaderBytes = 7 * sizeof(int);

    /// <summary>The checkpoint's header, checked.</summary>
    public sealed record Config(int Dim, int HiddenDim, int NLayers, int NHeads, int NKvHeads, int VocabSize, int SeqLen, bool SharedClassifier)
    {
        public int HeadSize => Dim / NHeads;

        public int KvDim => Dim / NHeads * NKvHeads;
    }

    /// <summary>Converts <paramref name="checkpoint"/> with the vocabulary of <paramref name="vocabulary"/> (a
    /// llama2.c <c>tokenizer.bin</c>, or a GGUF whose tokenizer is copied) into <paramref name="output"/>.</summary>
    /// <returns>The size of the written file.</returns>
    public static long Convert(string checkpoint, string vocabulary, string output, OutType outType = OutType.F32)
    {
        using var outputFile = AtomicOutputFile.Create(output, checkpoint, vocabulary);
        using var file = MappedFile.Open(checkpoint);
        var config = ReadConfig(file);
        var layout = new Layout(config);
        if (file.Length != layout.TotalBytes)
            throw new ConversionException(
                $"{checkpoint}: a llama2.c checkpoint of this shape (dim {config.Dim}, hidden {config.HiddenDim}, {config.NLayers} layers, " +
                $"{config.NHeads} heads, {config.NKvHeads} kv heads, vocab {config.VocabSize}, seq_len {config.SeqLen}, " +
                $"{(config.SharedClassifier ? "shared" : "separate")} classifier) is {layout.TotalBytes} bytes, but the file is {file.Length}");

        var writer = new GgufWriter();
        var h = new LlamaHyperparameters(config.SeqLen, config.Dim, config.NLayers, config.HiddenDim, config.NHeads, config.NKvHeads,
            config.HeadSize, 1e-5f);
        LlamaGgufMetadata.AddHyperparameters(writer, Path.GetFileNameWithoutExtension(checkpoint), h);
        LlamaGgufMetadata.AddFileType(writer, OutTypes.FileType(outType, GgmlType.F32));
        if (IsGguf(vocabulary))
        {
            using var source = GgufFile.Open(vocabulary);
            int n = source.Metadata.GetArray<string>("tokenizer.ggml.tokens")?.Length
                ?? throw new ConversionException($"{vocabulary}: the GGUF file has no tokenizer.ggml.tokens to copy");
            if (n != config.VocabSize)
                throw new ConversionException($"{vocabulary}: the vocabulary has {n} tokens, but the checkpoint's vocab_size is {config.VocabSize}");
            LlamaGgufMetadata.CopyVocabulary(writer, source.Metadata);
        }
        else
        {
            LlamaGgufMetadata.AddVocabulary(writer, ReadTokenizer(vocabulary, config.VocabSize));
        }

        // llama.cpp's tensor order (save_as_llama_model); ggml shapes are [row length, rows].
        void Add(string name, long offset, params long[] shape) =>
            RowEncoder.Add(writer, name, shape, OutTypes.For(outType, GgmlType.F32, shape), (row, values) =>
                MemoryMarshal.Cast<byte, float>(file.Bytes(offset + row * shape[0] * sizeof(float), values.Length * sizeof(float), name)).CopyTo(values));

        int dim = config.Dim, ff = config.HiddenDim, kv = config.KvDim;
        Add("token_embd.weight", layout.TokenEmbedding, dim, config.VocabSize);
        Add("output_norm.weight", layout.RmsFinal, dim);
        Add("output.weight", layout.Classifier, dim, config.VocabSize);
        for (int i = 0; i < config.NLayers; i++)
        {
            string p = $"blk.{i}.";
            Add(p + "attn_q.weight", layout.Wq + Layout.Floats((long)i * dim * dim), dim, dim);
            Add(p + "attn_k.weight", layout.Wk + Layout.Floats((long)i * dim * kv), dim, kv);
            Add(p + "attn_v.weight", layout.Wv + Layout.Floats((long)i * dim * kv), dim, kv);
            Add(p + "attn_output.weight", layout.Wo + Layout.Floats((long)i * dim * dim), dim, dim);
            Add(p + "attn_norm.weight", layout.RmsAtt + Layout.Floats((long)i * dim), dim);
            Add(p + "ffn_gate.weight", layout.W1 + Layout.Floats((long)i * dim * ff), dim, ff);
            Add(p + "ffn_down.weight", layout.W2 + Layout.Floats((long)i * dim * ff), ff, dim);
            Add(p + "ffn_up.weight", layout.W3 + Layout.Floats((long)i * dim * ff), dim, ff);
            Add(p + "ffn_norm.weight", layout.RmsFfn + Layout.Floats((long)i * dim), dim);
        }
        long length = writer.WriteTo(outputFile);
        outputFile.Commit();
        return length;
    }

    /// <summary>Reads and checks the checkpoint header.</summary>
    internal static Config ReadConfig(MappedFile file)
    {
        byte[] header = file.Bytes(0, HeaderBytes, "the llama2.c header (7 int32)").ToArray();
        int Int(int i) => BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(i * 4));
        int dim = Int(0), hidden = Int(1), layers = Int(2), heads = Int(3), kvHeads = Int(4), vocab = Int(5), seqLen = Int(6);
        string shape = $"dim {dim}, hidden_dim {hidden}, n_layers {layers}, n_heads {heads}, n_kv_heads {kvHeads}, vocab_size {vocab}, seq_len {seqLen}";
        // vocab_size's sign says whether the classifier is shared; int.MinValue has no magnitude as an int.
        if (dim <= 0 || hidden <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || vocab == 0 || vocab == int.MinValue || seqLen <= 0)
            throw new ConversionException($"{file.Path}: not a llama2.c checkpoint: its header ({shape}) has a value that is not positive");
        var config = new Config(dim, hidden, layers, heads, kvHeads, Math.Abs(vocab), seqLen, SharedClassifier: vocab > 0);
        if (dim % heads != 0 || heads % kvHeads != 0)
            throw new ConversionException($"{file.Path}: not a llama2.c checkpoint: dim must be a multiple of n_heads and n_heads of n_kv_heads ({shape})");
        if ((dim / heads) % 2 != 0)
            throw new ConversionException($"{file.Path}: the head size {dim / heads} is odd; RoPE needs pairs ({shape})");
        try
        {
            _ = new Layout(config);
        }
        catch (OverflowException)
        {
            // Unchecked, such a size wraps around and can even equal the file's length.
            throw new ConversionException($"{file.Path}: not a llama2.c checkpoint: its header ({shape}) describes more bytes of weights than any file can hold");
        }
        return config;
    }

    /// <summary>
    /// Reads a llama2.c <c>tokenizer.bin</c>: an int32 max_token_length, then per token a float32 score, an int32
    /// byte length and the UTF-8 bytes. Mapped as llama.cpp's converter does (<c>load_vocab</c>): tokens 0, 1, 2 become
    /// <c>&lt;unk&gt;</c> (UNKNOWN), <c>&lt;s&gt;</c> and <c>&lt;/s&gt;</c> (CONTROL); an empty piece is CONTROL; a
    /// <c>&lt;0xXX&gt;</c> piece is BYTE; spaces become U+2581.
    /// </summary>
    public static SpmVocabulary ReadTokenizer(string path, int vocabSize)
    {
        using var file = MappedFile.Open(path);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var tokens = new string[vocabSize];
        var scores = new float[vocabSize];
        var types = new TokenType[vocabSize];
        long at = sizeof(int); // max_token_length: unused
        file.Bytes(0, sizeof(int), "the tokenizer's max_token_length");
        for (int id = 0; id < vocabSize; id++)
        {
            var record = file.Bytes(at, 8, $"token {id} of {vocabSize}");
            float score = BinaryPrimitives.ReadSingleLittleEndian(record);
            int length = BinaryPrimitives.ReadInt32LittleEndian(record[4..]);
            if (length < 0)
                throw new ConversionException($"{path}: token {id} has a negative length {length}: not a llama2.c tokenizer");
            string text;
            try
            {
                text = utf8.GetString(file.Bytes(at + 8, length, $"the text of token {id}"));
            }
            catch (DecoderFallbackException)
            {
                throw new ConversionException($"{path}: token {id} is not valid UTF-8");
            }
            at += 8 + length;

            var type = TokenType.Normal;
            switch (id)
            {
                case 0: text = "<unk>"; type = TokenType.Unknown; break;
                case 1: text = "<s>"; type = TokenType.Control; break;
                case 2: text = "</s>"; type = TokenType.Control; break;
                default:
                    if (text.Length == 0)
                        type = TokenType.Control;
                    else if (IsByteToken(text))
                        type = TokenType.Byte;
                    break;
            }
            tokens[id] = LlamaGgufMetadata.EscapeSpaces(text);
            scores[id] = score;
            types[id] = type;
        }
        if (at != file.Length)
            throw new ConversionException(
                $"{path}: the tokenizer has {file.Length - at} bytes left after {vocabSize} tokens: is it the tokenizer of this checkpoint (vocab_size {vocabSize})?");
        return new SpmVocabulary(tokens, scores, types);
    }

    /// <summary>A byte-fallback piece, "&lt;0x" and a hex digit (the test of llama.cpp's <c>sscanf("&lt;0x%02hhX&gt;")</c>).</summary>
    private static bool IsByteToken(string text) => text.Length > 3 && text.StartsWith("<0x", StringComparison.Ordinal) && char.IsAsciiHexDigit(text[3]);

    private static bool IsGguf(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && BinaryPrimitives.ReadUInt32LittleEndian(magic) == GgufFile.Magic;
    }

    /// <summary>Byte offsets of the weights in run.c's order (memory_map_weights); a size past long's range throws
    /// <see cref="OverflowException"/>.</summary>
    private sealed class Layout
    {
        public static long Floats(long n) => checked(n * sizeof(float));

        public long TokenEmbedding, RmsAtt, Wq, Wk, Wv, Wo, RmsFfn, W1, W2, W3, RmsFinal, Classifier, TotalBytes;

        public Layout(Config c)
        {
            checked
            {
                long dim = c.Dim, layers = c.NLayers, kv = c.KvDim, ff = c.HiddenDim, vocab = c.VocabSize;
                long at = HeaderBytes;
                long Next(long floats)
                {
                    long here = at;
                    at += Floats(floats);
                    return here;
                }
                TokenEmbedding = Next(vocab * dim);
                RmsAtt = Next(layers * dim);
                Wq = Next(layers * dim * dim);
                Wk = Next(layers * dim * kv);
                Wv = Next(layers * dim * kv);
                Wo = Next(layers * dim * dim);
                RmsFfn = Next(layers * dim);
                W1 = Next(layers * ff * dim);
                W2 = Next(layers * dim * ff);
                W3 = Next(layers * ff * dim);
                RmsFinal = Next(dim);
                Next(c.SeqLen * (long)c.HeadSize); // freq_cis_real and freq_cis_imag (seq_len * head_size / 2 each): unused
                Classifier = c.SharedClassifier ? TokenEmbedding : Next(vocab * dim);
                TotalBytes = at;
            }
        }
    }
}
