using System.Text;

namespace LlamaAot.Tokenizers;

/// <summary>
/// A vocabulary as llama.cpp 0.5.0 sees it (<c>struct llama_vocab</c>): each token's text, score and kind, the BPE
/// merges, the special tokens, and the flags that steer tokenization. Built from GGUF metadata by
/// <see cref="FromGguf"/>; immutable and safe to share between threads.
/// </summary>
/// <remarks>
/// Token kinds reported by <see cref="GetTokenType"/> are the effective ones: like llama.cpp, loading turns
/// well-known end-of-turn and fill-in-the-middle tokens (for example <c>&lt;|end|&gt;</c>) into
/// <see cref="TokenType.Control"/> tokens even when the file says otherwise.
/// </remarks>
public sealed partial class Vocabulary
{
    /// <summary>Token texts as read from GGUF (llama.cpp renames an empty text to <c>[EMPTY_{id}]</c>).</summary>
    private readonly string[] _texts;

    /// <summary>The same texts as UTF-8 bytes: what tokenization matches against.</summary>
    private readonly byte[][] _utf8Texts;

    private readonly float[] _scores;
    private readonly TokenAttributes[] _attributes;

    /// <summary>Token id by UTF-8 text (llama.cpp's <c>token_to_id</c>), probed with spans of the input.</summary>
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _idByText;

    /// <summary>The token standing for each byte value (<c>byte_to_token</c>), or -1 when the vocabulary has none.</summary>
    private readonly int[] _tokenOfByte;

    /// <summary>The byte each <see cref="TokenType.Byte"/> token stands for (<c>token_to_byte</c>); 0 for others.</summary>
    private readonly byte[] _byteOfToken;

    /// <summary>Id of each <see cref="SpecialTokenRole"/>, or null when unset.</summary>
    private readonly int?[] _roles;

    private readonly HashSet<int> _endOfGeneration;

    /// <summary>BPE merge rank by the merge line "left right" (<c>bpe_ranks</c>); empty for other types.</summary>
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _mergeRanks;

    /// <summary>How text becomes tokens.</summary>
    public VocabularyType Type { get; }

    /// <summary>The pre-tokenizer of a BPE vocabulary (<c>tokenizer.ggml.pre</c>, "default" when absent; "gemma4"
    /// for Gemma 4 files, whatever they say); null for other types.</summary>
    public string? PreTokenizerName { get; }

    /// <summary>The rule of <see cref="PreTokenizerName"/>; default for other types.</summary>
    internal PreTokenizerRule PreTokenizerRule { get; }

    /// <summary>The longest token text, in UTF-8 bytes (<c>max_token_len</c>).</summary>
    internal int MaxTokenLength { get; }

    /// <summary>Number of tokens.</summary>
    public int Count => _texts.Length;

    /// <summary>Beginning-of-sequence token (SPM default 1; the CLS token of WordPiece); null when the vocabulary has none.</summary>
    public int? Bos => _roles[(int)SpecialTokenRole.Bos];

    /// <summary>End-of-sequence token (SPM default 2); null when the vocabulary has none.</summary>
    public int? Eos => _roles[(int)SpecialTokenRole.Eos];

    /// <summary>Unknown token (SPM default 0); null when the vocabulary has none.</summary>
    public int? Unk => _roles[(int)SpecialTokenRole.Unk];

    /// <summary>Separator token (WordPiece's SEP, appended when tokenizing with special tokens); null when unset.</summary>
    public int? Sep => _roles[(int)SpecialTokenRole.Sep];

    /// <summary>End-of-turn token, from metadata or detected by its text; null when the vocabulary has none.</summary>
    public int? Eot => _roles[(int)SpecialTokenRole.Eot];

    /// <summary>End-of-message token (<c>&lt;|eom_id|&gt;</c>); null when the vocabulary has none.</summary>
    public int? Eom => _roles[(int)SpecialTokenRole.Eom];

    /// <summary>Padding token; null when unset.</summary>
    public int? Pad => _roles[(int)SpecialTokenRole.Pad];

    /// <summary>Whether tokenizing with special tokens prepends <see cref="Bos"/> (<c>tokenizer.ggml.add_bos_token</c>;
    /// default true for SPM and WordPiece, for BPE as its pre-tokenizer says).</summary>
    public bool AddBos { get; }

    /// <summary>Whether tokenizing with special tokens appends <see cref="Eos"/> (<c>tokenizer.ggml.add_eos_token</c>, default false).</summary>
    public bool AddEos { get; }

    /// <summary>Whether the vocabulary wants <see cref="Sep"/> after a text (<c>tokenizer.ggml.add_sep_token</c>;
    /// default true for WordPiece). WordPiece tokenizing with special tokens always appends it, as llama.cpp.</summary>
    public bool AddSep { get; }

    /// <summary>
    /// Whether a space is put before text that starts the input or follows a special token (SPM only), and one
    /// leading space is removed again when decoding (<c>tokenizer.ggml.add_space_prefix</c>, default true for SPM).
    /// </summary>
    public bool AddSpacePrefix { get; }

    /// <summary>Whether decoding removes spaces before <c>?!.,</c> and around some apostrophes
    /// (<c>clean_up_tokenization_spaces</c>; set by the pre-tokenizer for BPE, on for WordPiece).</summary>
    public bool CleanSpaces { get; }

    /// <summary>WordPiece lower-cases the text (<c>tokenizer.ggml.normalizer.lowercase</c>, default true).</summary>
    internal bool Lowercase { get; }

    /// <summary>WordPiece strips accents (<c>tokenizer.ggml.normalizer.strip_accents</c>, default: as
    /// <see cref="Lowercase"/>).</summary>
    internal bool StripAccents { get; }

    /// <summary>The text of a token, as stored in the vocabulary (U+2581 for spaces, <c>&lt;0x0A&gt;</c> for bytes).</summary>
    public string GetText(int id) => _texts[CheckId(id)];

    /// <summary>The score of a token: higher scores merge first.</summary>
    public float GetScore(int id) => _scores[CheckId(id)];

    /// <summary>The effective kind of a token.</summary>
    public TokenType GetTokenType(int id) => _attributes[CheckId(id)].ToTokenType();

    /// <summary>Whether generating this token ends generation (<c>llama_vocab_is_eog</c>): EOS, EOT, EOM, the FIM
    /// pad/repo/file-separator tokens, and tokens spelled like a known end-of-turn marker.</summary>
    public bool IsEndOfGeneration(int id) => _endOfGeneration.Contains(id);

    /// <summary>The id of the token whose text is exactly <paramref name="text"/>.</summary>
    public bool TryGetId(string text, out int id)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryGetId(Encoding.UTF8.GetBytes(text), out id);
    }

    internal bool TryGetId(ReadOnlySpan<byte> utf8Text, out int id) => _idByText.TryGetValue(utf8Text, out id);

    internal ReadOnlySpan<byte> GetUtf8Text(int id) => _utf8Texts[id];

    internal TokenAttributes GetAttributes(int id) => _attributes[id];

    /// <summary>The token for one byte of text that formed no token (<c>llama_vocab::byte_to_token</c>): <c>&lt;0xHH&gt;</c>,
    /// or else a token whose text is that single byte.</summary>
    internal int TokenOfByte(byte b) =>
        _tokenOfByte[b] is >= 0 and var id
            ? id
            : throw new ArgumentException(
                $"the vocabulary has no byte-fallback token <0x{b:X2}>, so text containing byte 0x{b:X2} cannot be tokenized");

    internal byte ByteOfToken(int id) => _byteOfToken[id];

    /// <summary>The rank of merging <paramref name="left"/> and <paramref name="right"/> (<c>find_bpe_rank</c>), or
    /// -1. <paramref name="scratch"/> must hold both plus one byte.</summary>
    internal int FindMergeRank(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> scratch)
    {
        left.CopyTo(scratch);
        scratch[left.Length] = (byte)' ';
        right.CopyTo(scratch[(left.Length + 1)..]);
        return _mergeRanks.TryGetValue(scratch[..(left.Length + right.Length + 1)], out int rank) ? rank : -1;
    }

    /// <summary>Control, user-defined and unknown tokens, longest text first: the order in which
    /// <c>tokenizer_st_partition</c> splits them out of the input (<c>cache_special_tokens</c>).</summary>
    internal int[] SpecialTokensLongestFirst { get; }

    internal int CheckId(int id) =>
        (uint)id < (uint)_texts.Length
            ? id
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"not a token id: the vocabulary has {_texts.Length} tokens");
}
