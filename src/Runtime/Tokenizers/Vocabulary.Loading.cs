using System.Globalization;
using System.Text;
using LlamaAot.Diagnostics;
using LlamaAot.Gguf;

namespace LlamaAot.Tokenizers;

/// <summary>Reading and validating a vocabulary from GGUF metadata (llama.cpp's <c>llama_vocab::impl::load</c>).</summary>
public sealed partial class Vocabulary
{
    private const string ModelKey = "tokenizer.ggml.model";
    private const string TokensKey = "tokenizer.ggml.tokens";
    private const string ScoresKey = "tokenizer.ggml.scores";
    private const string TokenTypeKey = "tokenizer.ggml.token_type";
    private const string AddBosKey = "tokenizer.ggml.add_bos_token";
    private const string AddEosKey = "tokenizer.ggml.add_eos_token";
    private const string AddSpacePrefixKey = "tokenizer.ggml.add_space_prefix";
    private const string ModelNameKey = "general.name";

    private const string PreKey = "tokenizer.ggml.pre";
    private const string MergesKey = "tokenizer.ggml.merges";
    private const string AddSepKey = "tokenizer.ggml.add_sep_token";
    private const string LowercaseKey = "tokenizer.ggml.normalizer.lowercase";
    private const string StripAccentsKey = "tokenizer.ggml.normalizer.strip_accents";

    /// <summary>The <c>tokenizer.ggml.model</c> of SentencePiece vocabularies (llama.cpp's SPM).</summary>
    public const string SpmModel = "llama";

    /// <summary>
    /// Reads the vocabulary of a GGUF file as llama.cpp 0.5.0's <c>llama_vocab::impl::load</c> does. Absent keys take
    /// llama.cpp's defaults for the vocabulary type (SPM: BOS 1, EOS 2, UNK 0, add BOS, space prefix; byte-level BPE:
    /// BOS and EOS 11; WordPiece: CLS 101 as BOS, UNK 100, SEP 102, PAD 0, MASK 103). A default id outside the
    /// vocabulary is dropped, as there. A token id of -1 or 0xFFFFFFFF, which converters write for "none", also
    /// keeps the default; any other id outside the vocabulary is rejected (llama.cpp would log a warning and keep
    /// the default).
    /// </summary>
    /// <exception cref="NotSupportedException">The tokenizer model or pre-tokenizer is not implemented; the message
    /// names it.</exception>
    /// <exception cref="GgufFormatException">The tokenizer metadata is missing, inconsistent or malformed.</exception>
    public static Vocabulary FromGguf(GgufMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string model = metadata.GetString(ModelKey)
            ?? throw new GgufFormatException($"missing metadata key '{ModelKey}': the file has no tokenizer");
        VocabularyType type = model switch
        {
            SpmModel => VocabularyType.Spm,
            "gpt2" or "gemma4" => VocabularyType.Bpe,
            "bert" => VocabularyType.Wpm,
            _ => throw new NotSupportedException(
                $"tokenizer model {Excerpt.Quote(model)}{DescribeModel(model)} ({ModelKey}) is not supported: llama-aot " +
                "implements SentencePiece (\"llama\"), byte-level BPE (\"gpt2\", \"gemma4\") and WordPiece (\"bert\")"),
        };
        (string, PreTokenizerRule)? pre = type == VocabularyType.Bpe ? ReadPreTokenizer(metadata, model) : null;

        string[] texts = metadata.GetArray<string>(TokensKey)
            ?? throw new GgufFormatException($"missing metadata key '{TokensKey}': the file has no vocabulary");
        float[] scores = metadata.GetArray<float>(ScoresKey) ?? new float[texts.Length];
        int[]? wireTypes = metadata.GetArray<int>(TokenTypeKey);
        RequireLength(ScoresKey, scores.Length, texts.Length);
        if (wireTypes is not null)
            RequireLength(TokenTypeKey, wireTypes.Length, texts.Length);

        var attributes = new TokenAttributes[texts.Length];
        for (int id = 0; id < texts.Length; id++)
        {
            if (float.IsNaN(scores[id]))
                throw new GgufFormatException($"metadata '{ScoresKey}': the score of token {id} is NaN");
            attributes[id] = wireTypes is null ? TokenAttributes.Normal : TokenAttributesExtensions.FromWireType(wireTypes[id]);
        }
        string[]? merges = null;
        if (type == VocabularyType.Bpe)
        {
            merges = metadata.GetArray<string>(MergesKey)
                ?? throw new GgufFormatException($"missing metadata key '{MergesKey}': a byte-level BPE vocabulary needs its merges");
        }
        return new Vocabulary(metadata, model, type, pre, RenameEmptyTexts(texts), scores, attributes, merges);
    }

    private Vocabulary(
        GgufMetadata metadata, string model, VocabularyType type, (string Name, PreTokenizerRule Rule)? pre, string[] texts, float[] scores,
        TokenAttributes[] attributes, string[]? merges)
    {
        Type = type;
        _texts = texts;
        _scores = scores;
        _attributes = attributes;
        _utf8Texts = Array.ConvertAll(texts, Encoding.UTF8.GetBytes);
        MaxTokenLength = _utf8Texts.Max(t => t.Length);
        _idByText = IndexTexts(_utf8Texts).GetAlternateLookup<ReadOnlySpan<byte>>();
        _byteOfToken = ReadByteTokens();
        _tokenOfByte = FindByteFallbackTokens();
        _mergeRanks = merges is null ? default : IndexMerges(merges);

        // The defaults of llama_vocab::impl::load for each type, then the file's keys.
        if (pre is var (name, rule))
        {
            PreTokenizerName = name;
            PreTokenizerRule = rule;
            CleanSpaces = rule.CleanSpaces;
            AddBos = rule.AddBos;
        }
        else
        {
            CleanSpaces = type == VocabularyType.Wpm;
            AddBos = true;
            AddSep = type == VocabularyType.Wpm;
        }
        AddSpacePrefix = metadata.GetBool(AddSpacePrefixKey, type == VocabularyType.Spm);
        AddBos = metadata.GetBool(AddBosKey, AddBos);
        AddEos = metadata.GetBool(AddEosKey, false);
        AddSep = metadata.GetBool(AddSepKey, AddSep);
        AddBos |= PreTokenizerRule.AlwaysAddBos;
        Lowercase = metadata.GetBool(LowercaseKey, true);
        StripAccents = metadata.GetBool(StripAccentsKey, Lowercase);

        _roles = ReadRoles(metadata, model);
        RequireAddedTokens();
        DetectRolesByText();
        MarkUnusedControlTokens();
        _endOfGeneration = CollectEndOfGeneration();
        SpecialTokensLongestFirst = SortSpecialTokens();
        ApplyStripRules(metadata.GetString(ModelNameKey) ?? "", metadata.GetString(PreKey) ?? "");
    }

    /// <summary>The rule of <c>tokenizer.ggml.pre</c>; absent or empty means "default", as llama.cpp (which warns that
    /// generation quality will be degraded).</summary>
    private static (string Name, PreTokenizerRule Rule) ReadPreTokenizer(GgufMetadata metadata, string model)
    {
        // llama.cpp ignores the key for gemma4 files and uses Gemma 4's rule.
        string name = model == "gemma4" ? "gemma4"
            : metadata.GetString(PreKey) is { Length: > 0 } pre ? pre : PreTokenizerRules.DefaultName;
        return PreTokenizerRules.TryGet(name, out var rule)
            ? (name, rule)
            : throw new NotSupportedException(
                $"pre-tokenizer {Excerpt.Quote(name)} ({PreKey}) is not supported; supported: {string.Join(", ", PreTokenizerRules.Tested)} " +
                "and llama.cpp's other names for them");
    }

    /// <summary>
    /// The rank of each merge "left right" (its index; the first of duplicates wins, as <c>emplace</c>). Keyed by the
    /// whole line: llama.cpp splits it at the first space after the first byte and looks up (left, right) pairs that
    /// never contain a space, so the line is the same key.
    /// </summary>
    private static Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> IndexMerges(string[] merges)
    {
        var ranks = new Dictionary<byte[], int>(merges.Length, Utf8BytesComparer.Instance);
        for (int rank = 0; rank < merges.Length; rank++)
            ranks.TryAdd(Encoding.UTF8.GetBytes(merges[rank]), rank);
        return ranks.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    private static string DescribeModel(string model) => model switch
    {
        "gpt2" => " (byte-level BPE)",
        "bert" => " (WordPiece)",
        "t5" => " (Unigram)",
        "rwkv" => " (RWKV trie)",
        "no_vocab" or "none" => " (no vocabulary)",
        _ => "",
    };

    private static void RequireLength(string key, int length, int tokenCount)
    {
        if (length != tokenCount)
            throw new GgufFormatException(
                $"metadata '{key}' has {length} entries but '{TokensKey}' has {tokenCount}: they must be the same length");
    }

    /// <summary>llama.cpp replaces an empty token text with <c>[EMPTY_{id}]</c> (and logs a warning).</summary>
    private static string[] RenameEmptyTexts(string[] texts)
    {
        if (Array.IndexOf(texts, "") < 0)
            return texts;
        string[] renamed = (string[])texts.Clone();
        for (int id = 0; id < renamed.Length; id++)
        {
            if (renamed[id].Length == 0)
                renamed[id] = "[EMPTY_" + id.ToString(CultureInfo.InvariantCulture) + "]";
        }
        return renamed;
    }

    /// <summary>Token id by text. llama.cpp asserts that no two tokens share a text; so do we, with a message.</summary>
    private static Dictionary<byte[], int> IndexTexts(byte[][] utf8Texts)
    {
        var index = new Dictionary<byte[], int>(utf8Texts.Length, Utf8BytesComparer.Instance);
        for (int id = 0; id < utf8Texts.Length; id++)
        {
            if (!index.TryAdd(utf8Texts[id], id))
                throw new GgufFormatException(
                    $"metadata '{TokensKey}': tokens {index[utf8Texts[id]]} and {id} have the same text " +
                    $"{Excerpt.Quote(Encoding.UTF8.GetString(utf8Texts[id]))}");
        }
        return index;
    }

    /// <summary>The byte of each byte token. llama.cpp reads the two hex digits of <c>&lt;0xHH&gt;</c> without
    /// checking them (<c>token_to_byte</c>); a byte token spelled otherwise is rejected here.</summary>
    private byte[] ReadByteTokens()
    {
        var bytes = new byte[Count];
        for (int id = 0; id < Count; id++)
        {
            if ((_attributes[id] & TokenAttributes.Byte) == 0)
                continue;
            string text = _texts[id];
            if (text.Length != 6 || !text.StartsWith("<0x", StringComparison.Ordinal) || text[5] != '>' ||
                !byte.TryParse(text.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[id]))
                throw new GgufFormatException($"metadata '{TokensKey}': token {id} is a byte token but its text {Excerpt.Quote(text)} is not <0xHH>");
        }
        return bytes;
    }

    /// <summary><c>llama_vocab::byte_to_token</c> for every byte: the token <c>&lt;0xHH&gt;</c> (upper-case hex),
    /// else the token whose text is that one byte, else none.</summary>
    private int[] FindByteFallbackTokens()
    {
        var tokens = new int[256];
        Span<byte> hexName = stackalloc byte[6];
        for (int b = 0; b < 256; b++)
        {
            Encoding.ASCII.GetBytes($"<0x{b:X2}>", hexName);
            // The fallback is built as a C string, so byte 0 looks up "" and never matches.
            if (TryGetId(hexName, out int id) || (b != 0 && TryGetId([(byte)b], out id)))
                tokens[b] = id;
            else
                tokens[b] = -1;
        }
        return tokens;
    }

    /// <summary>Special-token ids: the type's defaults (those outside the vocabulary dropped, as llama.cpp does)
    /// overridden by the GGUF keys, each checked against the vocabulary.</summary>
    private int?[] ReadRoles(GgufMetadata metadata, string model)
    {
        var roles = new int?[Enum.GetValues<SpecialTokenRole>().Length];
        foreach (var (role, id) in SpecialTokenRules.Defaults(Type, model))
            roles[(int)role] = id < Count ? id : null;
        foreach (var (key, role) in SpecialTokenRules.MetadataKeys)
        {
            if (ReadTokenId(metadata, key) is int id)
                roles[(int)role] = id;
        }
        return roles;
    }

    /// <summary>llama.cpp asserts when it adds a token the vocabulary lacks; we refuse such a file when loading.</summary>
    private void RequireAddedTokens()
    {
        foreach (var (adds, role, key) in new[]
        {
            // WordPiece adds its CLS (as BOS) and SEP whatever the flags say, as llama.cpp.
            (AddBos || Type == VocabularyType.Wpm, SpecialTokenRole.Bos, AddBosKey),
            (AddEos, SpecialTokenRole.Eos, AddEosKey),
            (AddSep || Type == VocabularyType.Wpm, SpecialTokenRole.Sep, AddSepKey),
        })
        {
            if (adds && _roles[(int)role] is null)
                throw new GgufFormatException(
                    $"the vocabulary adds a {role} token ({key} or its default is true) but has no {role} token id");
        }
    }

    /// <summary>A token id from a metadata key: null when absent or set to the "none" value -1 / 0xFFFFFFFF.</summary>
    private int? ReadTokenId(GgufMetadata metadata, string key)
    {
        if (!metadata.TryGet(key, out var value))
            return null;
        if (value.Type == GgufValueType.Bool || !value.TryGetInt64(out long id))
            throw new GgufFormatException($"metadata '{key}' is {value.Type}, expected an integer token id");
        if (id is -1 or uint.MaxValue)
            return null;
        if (id < 0 || id >= Count)
            throw new GgufFormatException($"metadata '{key}' = {id} is not a token id: the vocabulary has {Count} tokens");
        return (int)id;
    }

    /// <summary>"auto-detect special tokens by text": each still-unset role takes a token spelled like it, which
    /// becomes Control. Several candidates are possible (Phi-3 has both <c>&lt;|end|&gt;</c> and
    /// <c>&lt;|endoftext|&gt;</c>); llama.cpp takes whichever its hash map yields first, we take the lowest id.</summary>
    private void DetectRolesByText()
    {
        foreach (var (role, spellings) in SpecialTokenRules.DetectedByText)
        {
            if (_roles[(int)role] is not null)
                continue;
            int found = int.MaxValue;
            foreach (string spelling in spellings)
            {
                if (TryGetId(spelling, out int id))
                    found = Math.Min(found, id);
            }
            if (found != int.MaxValue)
            {
                _roles[(int)role] = found;
                MakeControl(found);
            }
        }
    }

    /// <summary>Control tokens whose text contains "unused" are marked unused ("auto-detect unused tokens").</summary>
    private void MarkUnusedControlTokens()
    {
        for (int id = 0; id < Count; id++)
        {
            if ((_attributes[id] & TokenAttributes.Control) != 0 && _texts[id].Contains("unused", StringComparison.Ordinal))
                _attributes[id] |= TokenAttributes.Unused;
        }
    }

    /// <summary><c>special_eog_ids</c>: the FIM pad/repo/separator tokens, every token spelled like a known
    /// end-of-turn marker (which gains Control), and EOS, EOT and EOM; then llama.cpp's exceptions
    /// (<see cref="SpecialTokenRules.NotEndOfGeneration"/>). gpt-oss's always-rendered tokens become user-defined
    /// in between, as there.</summary>
    private HashSet<int> CollectEndOfGeneration()
    {
        var ids = new HashSet<int>();
        foreach (var role in SpecialTokenRules.EndOfGenerationRoles[..3])
        {
            if (_roles[(int)role] is int id)
                ids.Add(id);
        }
        foreach (string spelling in SpecialTokenRules.EndOfGenerationTexts)
        {
            if (TryGetId(spelling, out int id))
            {
                ids.Add(id);
                MakeControl(id);
            }
        }
        foreach (string spelling in SpecialTokenRules.AlwaysRendered)
        {
            if (TryGetId(spelling, out int id))
                _attributes[id] = TokenAttributes.UserDefined;
        }
        foreach (var role in SpecialTokenRules.EndOfGenerationRoles[3..])
        {
            if (_roles[(int)role] is int id)
                ids.Add(id);
        }
        foreach (var (text, groups, becomes) in SpecialTokenRules.NotEndOfGeneration)
        {
            if (TryGetId(text, out int id) && ids.Contains(id) &&
                groups.Any(group => group.All(other => TryGetId(other, out int otherId) && ids.Contains(otherId))))
            {
                ids.Remove(id);
                _attributes[id] = becomes;
            }
        }
        return ids;
    }

    /// <summary>llama.cpp adds Control to the attributes of such a token (logging that it looked like control).</summary>
    private void MakeControl(int id) => _attributes[id] |= TokenAttributes.Control;

    /// <summary><c>cache_special_tokens</c>: control, user-defined and unknown tokens by UTF-8 length, longest
    /// first. llama.cpp's <c>std::sort</c> leaves the order of equal lengths unspecified; we keep ids ascending.</summary>
    private int[] SortSpecialTokens()
    {
        const TokenAttributes special = TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown;
        return Enumerable.Range(0, Count)
            .Where(id => (_attributes[id] & special) != 0)
            .OrderByDescending(id => _utf8Texts[id].Length)
            .ToArray();
    }

    /// <summary>
    /// llama.cpp's "per token attributes" block. Phi-3: special tokens swallow the whitespace after them when split
    /// out of the text, and so does <c>&lt;/s&gt;</c>, except <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c> and
    /// <c>&lt;|endoftext|&gt;</c>. jina v2 and ModernBERT: the mask token swallows the whitespace before it.
    /// (llama.cpp fails to load if a named token is missing; we skip it.)
    /// </summary>
    private void ApplyStripRules(string modelName, string preTokenizer)
    {
        string lower = AsciiLower(modelName);
        foreach (var (pres, names, mask) in SpecialTokenRules.LStripMasks)
        {
            if ((pres.Any(p => preTokenizer.Contains(p, StringComparison.Ordinal)) ||
                 names.Any(n => lower.Contains(n, StringComparison.Ordinal))) && TryGetId(mask, out int maskId))
            {
                _attributes[maskId] |= TokenAttributes.LStrip;
                return;
            }
        }
        if (!SpecialTokenRules.RStripModelNames.Any(n => lower.Contains(n, StringComparison.Ordinal)))
            return;
        foreach (int id in SpecialTokensLongestFirst)
            _attributes[id] |= TokenAttributes.RStrip;
        if (TryGetId("</s>", out int eos))
            _attributes[eos] |= TokenAttributes.RStrip;
        foreach (string spelling in SpecialTokenRules.RStripExceptions)
        {
            if (TryGetId(spelling, out int id))
                _attributes[id] &= ~TokenAttributes.RStrip;
        }
    }

    /// <summary>C's <c>tolower</c> in the "C" locale: only A-Z change.</summary>
    private static string AsciiLower(string s) =>
        string.Create(s.Length, s, static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++)
                dst[i] = src[i] is >= 'A' and <= 'Z' ? (char)(src[i] + 32) : src[i];
        });
}
