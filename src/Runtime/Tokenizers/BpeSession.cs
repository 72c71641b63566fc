using System.Buffers;

namespace LlamaAot.Tokenizers;

/// <summary>
/// Byte-level BPE of one piece of text (llama.cpp 0.5.0's <c>llm_tokenizer_bpe_session::tokenize</c>): split the
/// text into words with the vocabulary's pre-tokenizer, spell each word through <see cref="ByteLevel"/> (unless the
/// vocabulary is SentencePiece-style, as Gemma 4's), then in each word repeatedly merge the adjacent pair with the
/// lowest merge rank, and emit each remaining symbol as its token or, if it is none, byte by byte.
/// </summary>
/// <remarks>
/// <para>Order of merges: lowest rank first; among equal ranks the leftmost pair, as <c>llm_bigram_bpe::comparator</c>.
/// A queued pair goes stale when either symbol has since merged; it is recognised by its recorded byte size, which
/// can only have grown (llama.cpp compares the texts, which is the same test).</para>
/// <para>A symbol that is no token falls back to one token per byte of its spelled text: the token whose text is
/// that single byte (byte-level) or <c>&lt;0xHH&gt;</c> (SentencePiece-style); a byte without one is dropped, as
/// llama.cpp drops it.</para>
/// <para>One instance per call: it reuses its buffers across the words of one text.</para>
/// </remarks>
internal sealed class BpeSession
{
    private readonly Vocabulary _vocab;
    private readonly PreTokenizerRule _rule;
    private readonly List<int> _codePoints = new();
    private readonly List<Range> _words = new();
    private readonly PriorityQueue<Bigram, ulong> _queue = new();
    private byte[] _word = new byte[64];
    private TextSymbol[] _symbols = new TextSymbol[64];
    private byte[] _scratch = new byte[129];

    private readonly record struct Bigram(int Left, int Right, int Size);

    public BpeSession(Vocabulary vocab)
    {
        _vocab = vocab;
        _rule = vocab.PreTokenizerRule;
    }

    /// <summary>Appends the tokens of <paramref name="text"/> (already whitespace-escaped where the vocabulary
    /// wants it) to <paramref name="output"/>.</summary>
    public void Tokenize(ReadOnlySpan<byte> text, List<int> output)
    {
        _codePoints.Clear();
        _words.Clear();
        Utf8CodePoints.Decode(text, _codePoints);
        var codePoints = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_codePoints);
        PreTokenizer.Split(_rule.Kind, codePoints, _words);
        foreach (var range in _words)
        {
            int length = SpellWord(codePoints[range]);
            if (length > 0)
                TokenizeWord(_word.AsSpan(0, length), output);
        }
    }

    /// <summary>The word's UTF-8 bytes, each spelled through <see cref="ByteLevel"/> when the rule says so
    /// (<c>unicode_byte_encoding_process</c>), into <see cref="_word"/>; returns the length.</summary>
    private int SpellWord(ReadOnlySpan<int> codePoints)
    {
        int length = 0;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (int codePoint in codePoints)
        {
            int n = Utf8CodePoints.Encode(codePoint, utf8);
            if (!_rule.ByteEncode)
            {
                Append(utf8[..n], ref length);
                continue;
            }
            foreach (byte b in utf8[..n])
                Append(ByteLevel.Encode(b), ref length);
        }
        return length;
    }

    private void Append(ReadOnlySpan<byte> bytes, ref int length)
    {
        if (length + bytes.Length > _word.Length)
            Array.Resize(ref _word, Math.Max(_word.Length * 2, length + bytes.Length));
        bytes.CopyTo(_word.AsSpan(length));
        length += bytes.Length;
    }

    private void TokenizeWord(ReadOnlySpan<byte> word, List<int> output)
    {
        if (_symbols.Length < word.Length)
            _symbols = new TextSymbol[Math.Max(word.Length, _symbols.Length * 2)];
        if (_scratch.Length < word.Length + 1)
            _scratch = new byte[word.Length * 2 + 1];

        int count;
        if (IsWholeToken(word))
        {
            _symbols[0] = new TextSymbol { Prev = -1, Next = -1, Start = 0, Length = word.Length };
            count = 1;
        }
        else
        {
            count = TextSymbol.SplitCharacters(word, _symbols);
            _queue.Clear();
            for (int i = 1; i < count; i++)
                TryAddBigram(word, i - 1, i);
            Merge(word);
        }
        Emit(word, output);
    }

    /// <summary>With <c>ignore_merges</c> a word that is a token is taken whole; so is Gemma 4's run of newlines.</summary>
    private bool IsWholeToken(ReadOnlySpan<byte> word)
    {
        bool whole = _rule.IgnoreMerges ||
            (_rule.Kind == PreTokenizerKind.Lines && !word.ContainsAnyExcept((byte)'\n'));
        return whole && _vocab.TryGetId(word, out _);
    }

    private void Merge(ReadOnlySpan<byte> word)
    {
        while (_queue.TryDequeue(out var bigram, out _))
        {
            if (!TextSymbol.TryMerge(_symbols, bigram.Left, bigram.Right, bigram.Size))
                continue;
            TryAddBigram(word, _symbols[bigram.Left].Prev, bigram.Left);
            TryAddBigram(word, bigram.Left, _symbols[bigram.Left].Next);
        }
    }

    /// <summary>Queues the pair if the vocabulary has a merge for it (<c>add_new_bigram</c>).</summary>
    private void TryAddBigram(ReadOnlySpan<byte> word, int left, int right)
    {
        if (left < 0 || right < 0)
            return;
        ref TextSymbol l = ref _symbols[left];
        ref TextSymbol r = ref _symbols[right];
        int rank = _vocab.FindMergeRank(word.Slice(l.Start, l.Length), word.Slice(r.Start, r.Length), _scratch);
        if (rank >= 0)
            _queue.Enqueue(new Bigram(left, right, l.Length + r.Length), ((ulong)(uint)rank << 32) | (uint)left);
    }

    private void Emit(ReadOnlySpan<byte> word, List<int> output)
    {
        Span<byte> hexName = stackalloc byte[6];
        for (int i = 0; i != -1; i = _symbols[i].Next)
        {
            var piece = word.Slice(_symbols[i].Start, _symbols[i].Length);
            if (_vocab.TryGetId(piece, out int id))
            {
                output.Add(id);
                continue;
            }
            foreach (byte b in piece)
            {
                bool found = _rule.ByteEncode
                    ? _vocab.TryGetId([b], out id)
                    : _vocab.TryGetId(HexName(b, hexName), out id);
                if (found)
                    output.Add(id);
            }
        }
    }

    /// <summary><c>&lt;0xHH&gt;</c> with upper-case hex digits.</summary>
    private static ReadOnlySpan<byte> HexName(byte b, Span<byte> name)
    {
        "<0x"u8.CopyTo(name);
        name[3] = (byte)"0123456789ABCDEF"[b >> 4];
        name[4] = (byte)"0123456789ABCDEF"[b & 15];
        name[5] = (byte)'>';
        return name;
    }
}
