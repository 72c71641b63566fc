using System.Text;

namespace LlamaAot.Tokenizers;

/// <summary>
/// A SentencePiece (SPM) vocabulary as llama.cpp sees it (<c>struct llama_vocab</c>, b4748): each token's text,
/// score and kind, the special tokens, and the flags that steer tokenization. Built from GGUF metadata by
/// <see cref="FromGguf"/>; immutable and safe to share between threads.
/// </summary>
/// <remarks>
/// Token kinds reported by <see cref="GetTokenType"/> are the effective ones: like llama.cpp, loading turns
/// well-known end-of-turn and fill-in-the-middle tokens (for example <c>&lt;|end|&gt;</c>) into
/// <see cref="TokenType.Control"/> even when the file says otherwise.
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

    /// <summary>Number of tokens.</summary>
    public int Count => _texts.Length;

    /// <summary>Beginning-of-sequence token (SPM default 1).</summary>
    public int Bos => _roles[(int)SpecialTokenRole.Bos]!.Value;

    /// <summary>End-of-sequence token (SPM default 2).</summary>
    public int Eos => _roles[(int)SpecialTokenRole.Eos]!.Value;

    /// <summary>Unknown token (SPM default 0).</summary>
    public int Unk => _roles[(int)SpecialTokenRole.Unk]!.Value;

    /// <summary>End-of-turn token, from metadata or detected by its text; null when the vocabulary has none.</summary>
    public int? Eot => _roles[(int)SpecialTokenRole.Eot];

    /// <summary>End-of-message token (<c>&lt;|eom_id|&gt;</c>); null when the vocabulary has none.</summary>
    public int? Eom => _roles[(int)SpecialTokenRole.Eom];

    /// <summary>Padding token; null when unset.</summary>
    public int? Pad => _roles[(int)SpecialTokenRole.Pad];

    /// <summary>Whether tokenizing with special tokens prepends <see cref="Bos"/> (<c>tokenizer.ggml.add_bos_token</c>, default true).</summary>
    public bool AddBos { get; }

    /// <summary>Whether tokenizing with special tokens appends <see cref="Eos"/> (<c>tokenizer.ggml.add_eos_token</c>, default false).</summary>
    public bool AddEos { get; }

    /// <summary>
    /// Whether a space is put before text that starts the input or follows a special token, and one leading space is
    /// removed again when decoding (<c>tokenizer.ggml.add_space_prefix</c>, default true).
    /// </summary>
    public bool AddSpacePrefix { get; }

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
            : throw new InvalidOperationException(
                $"the vocabulary has no byte-fallback token <0x{b:X2}>, so text containing byte 0x{b:X2} cannot be tokenized");

    internal byte ByteOfToken(int id) => _byteOfToken[id];

    /// <summary>Control, user-defined and unknown tokens, longest text first: the order in which
    /// <c>tokenizer_st_partition</c> splits them out of the input (<c>cache_special_tokens</c>).</summary>
    internal int[] SpecialTokensLongestFirst { get; }

    internal int CheckId(int id) =>
        (uint)id < (uint)_texts.Length
            ? id
            : throw new ArgumentOutOfRangeException(nameof(id), id, $"not a token id: the vocabulary has {_texts.Length} tokens");
}
