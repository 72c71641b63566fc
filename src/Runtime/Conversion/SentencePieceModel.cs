using System.Buffers.Binary;
using System.Text;
using LlamaAot.Diagnostics;
using LlamaAot.Tokenizers;

namespace LlamaAot.Conversion;

/// <summary>
/// The parts of a SentencePiece <c>tokenizer.model</c> (a <c>ModelProto</c> protobuf, sentencepiece_model.proto)
/// that a llama GGUF needs: the pieces with their scores and types, the special token ids of the trainer spec, and
/// whether the normalizer adds a dummy prefix. Read with a minimal protobuf reader; unknown fields are skipped.
/// </summary>
public sealed class SentencePieceModel
{
    // ModelProto: 1 = repeated SentencePiece pieces, 2 = TrainerSpec, 3 = NormalizerSpec.
    // SentencePiece: 1 = piece (string), 2 = score (float), 3 = type (enum; NORMAL 1, UNKNOWN 2, CONTROL 3,
    // USER_DEFINED 4, UNUSED 5, BYTE 6: the same numbers as GGUF token types).
    // TrainerSpec: 40 = unk_id, 41 = bos_id, 42 = eos_id, 43 = pad_id (int32). NormalizerSpec: 3 = add_dummy_prefix.
    public required string[] Pieces { get; init; }
    public required float[] Scores { get; init; }
    public required TokenType[] Types { get; init; }
    public int UnknownId { get; init; }
    public int BosId { get; init; } = 1;
    public int EosId { get; init; } = 2;

    /// <summary>The padding id, or -1 for none (SentencePiece's default).</summary>
    public int PadId { get; init; } = -1;

    public bool AddDummyPrefix { get; init; } = true;

    public static SentencePieceModel Read(string path)
    {
        byte[] data = File.ReadAllBytes(path);
        try
        {
            return Parse(data);
        }
        catch (FormatException e)
        {
            throw new ConversionException($"{path}: not a SentencePiece model: {e.Message}");
        }
    }

    /// <exception cref="FormatException">The bytes are not a well-formed ModelProto.</exception>
    public static SentencePieceModel Parse(ReadOnlySpan<byte> data)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<TokenType>();
        int unk = 0, bos = 1, eos = 2, pad = -1;
        bool dummyPrefix = true;
        var reader = new ProtoReader(data);
        while (reader.Next(out int field, out int wire))
        {
            if (field == 1 && wire == ProtoReader.LengthDelimited)
            {
                var piece = new ProtoReader(reader.Bytes());
                string text = "";
                float score = 0;
                var type = TokenType.Normal;
                while (piece.Next(out int f, out int w))
                {
                    if (f == 1 && w == ProtoReader.LengthDelimited)
                        text = Encoding.UTF8.GetString(piece.Bytes());
                    else if (f == 2 && w == ProtoReader.WireFixed32)
                        score = BitConverter.Int32BitsToSingle((int)piece.Fixed32Value());
                    else if (f == 3 && w == ProtoReader.WireVarint)
                        type = (TokenType)(int)piece.Varint();
                    else
                        piece.Skip(w);
                }
                if (type is < TokenType.Normal or > TokenType.Byte)
                    throw new FormatException($"piece {pieces.Count} ({Excerpt.Quote(text)}) has unknown type {(int)type}");
                pieces.Add(text);
                scores.Add(score);
                types.Add(type);
            }
            else if (field == 2 && wire == ProtoReader.LengthDelimited)
            {
                var trainer = new ProtoReader(reader.Bytes());
                while (trainer.Next(out int f, out int w))
                {
                    if (w == ProtoReader.WireVarint && f is >= 40 and <= 43)
                    {
                        int id = (int)trainer.Varint(); // int32: negative values are sign-extended to 64 bits
                        switch (f)
                        {
                            case 40: unk = id; break;
                            case 41: bos = id; break;
                            case 42: eos = id; break;
                            default: pad = id; break;
                        }
                    }
                    else
                    {
                        trainer.Skip(w);
                    }
                }
            }
            else if (field == 3 && wire == ProtoReader.LengthDelimited)
            {
                var normalizer = new ProtoReader(reader.Bytes());
                while (normalizer.Next(out int f, out int w))
                {
                    if (f == 3 && w == ProtoReader.WireVarint)
                        dummyPrefix = normalizer.Varint() != 0;
                    else
                        normalizer.Skip(w);
                }
            }
            else
            {
                reader.Skip(wire);
            }
        }
        if (pieces.Count == 0)
            throw new FormatException("it has no pieces");
        return new SentencePieceModel
        {
            Pieces = [.. pieces],
            Scores = [.. scores],
            Types = [.. types],
            UnknownId = unk,
            BosId = bos,
            EosId = eos,
            PadId = pad,
            AddDummyPrefix = dummyPrefix,
        };
    }

    /// <summary>A forward-only protobuf wire-format reader over a span; malformed input throws <see cref="FormatException"/>.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        public const int WireVarint = 0, WireFixed64 = 1, LengthDelimited = 2, WireFixed32 = 5;

        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        /// <summary>Reads the next tag; false at the end of the data.</summary>
        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_at >= _data.Length)
                return false;
            ulong tag = Varint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            if (field == 0)
                throw new FormatException($"field number 0 at byte {_at}");
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_at >= _data.Length)
                    throw new FormatException("truncated varint");
                byte b = _data[_at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                    return value;
            }
            throw new FormatException("varint longer than 10 bytes");
        }

        public uint Fixed32Value() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public ReadOnlySpan<byte> Bytes()
        {
            ulong n = Varint();
            if (n > (ulong)(_data.Length - _at))
                throw new FormatException($"a field of {n} bytes runs past the end of its message");
            return Take((int)n);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case WireVarint: Varint(); break;
                case WireFixed64: Take(8); break;
                case LengthDelimited: Bytes(); break;
                case WireFixed32: Take(4); break;
                default: throw new FormatException($"unsupported wire type {wire}");
            }
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n > _data.Length - _at)
                throw new FormatException("truncated message");
            var span = _data.Slice(_at, n);
            _at += n;
            return span;
        }
    }
}
