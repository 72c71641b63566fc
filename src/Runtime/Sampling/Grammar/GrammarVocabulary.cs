using LlamaAot.Diagnostics;
using System.Runtime.CompilerServices;
using LlamaAot.Tokenizers;

namespace LlamaAot.Sampling;

/// <summary>
/// What the grammar needs of a vocabulary, prepared once per tokenizer and shared by every sampler on it: each
/// token's piece (llama.cpp's <c>token_to_piece</c> with special tokens shown), which tokens end generation, and a
/// trie of the pieces' code points, so one walk of the trie checks every token that shares a prefix at once.
/// </summary>
internal sealed class GrammarVocabulary
{
    private static readonly ConditionalWeakTable<Tokenizer, GrammarVocabulary> Cache = [];

    private readonly byte[][] _pieces;
    private readonly bool[] _endOfGeneration;
    private readonly Func<string, int[]>? _tokenize;

    /// <summary>A vocabulary of the given pieces (tests use made-up ones); <paramref name="tokenize"/> binds named tokens.</summary>
    internal GrammarVocabulary(byte[][] pieces, bool[] endOfGeneration, Func<string, int[]>? tokenize = null)
    {
        _pieces = pieces;
        _endOfGeneration = endOfGeneration;
        _tokenize = tokenize;
        Trie = new PieceTrie(pieces, endOfGeneration);
    }

    public static GrammarVocabulary For(Tokenizer tokenizer) => Cache.GetValue(tokenizer, t =>
    {
        var vocab = t.Vocabulary;
        var pieces = new byte[vocab.Count][];
        var eog = new bool[vocab.Count];
        for (int id = 0; id < pieces.Length; id++)
        {
            pieces[id] = t.GetPiece(id, special: true).ToArray();
            eog[id] = vocab.IsEndOfGeneration(id);
        }
        return new GrammarVocabulary(pieces, eog, text => t.Encode(text, addSpecial: false, parseSpecial: true));
    });

    public int Count => _pieces.Length;

    public PieceTrie Trie { get; }

    public ReadOnlySpan<byte> Piece(int id) => _pieces[id];

    public bool IsEndOfGeneration(int id) => _endOfGeneration[id];

    /// <summary>The id of the one token <paramref name="text"/> (<c>&lt;|im_start|&gt;</c>) is in this vocabulary.</summary>
    public int TokenOf(string text)
    {
        if (_tokenize is null)
            throw new GrammarException($"the grammar names the token {Excerpt.Quote(text)}, which needs a model's vocabulary");
        int[] ids = _tokenize(text);
        return ids.Length == 1 ? ids[0]
            : throw new GrammarException($"the grammar's token {Excerpt.Quote(text)} is not one token of this model's vocabulary (it tokenizes to {ids.Length}); use <[id]> or a string");
    }
}

/// <summary>
/// The pieces of every token that can be checked character by character, as a trie of code points decoded from a
/// fresh start (no partial character before them). Tokens that end generation, and pieces that are empty, begin with
/// NUL or are not UTF-8, are left out: the grammar treats them apart.
/// </summary>
internal sealed class PieceTrie
{
    // Node n's children are _childCodePoint/_childNode[_childStart[n] .. _childStart[n + 1]), sorted by code point;
    // the tokens whose piece ends exactly at n are _ends[_endStart[n] .. _endStart[n + 1]); those whose piece ends at n
    // with a cut-off character are _partials[_partialStart[n] .. _partialStart[n + 1]).
    private readonly int[] _childStart, _childCodePoint, _childNode;
    private readonly int[] _endStart, _ends;
    private readonly int[] _partialStart;
    private readonly (int Token, PartialUtf8 Tail)[] _partials;

    public PieceTrie(byte[][] pieces, bool[] endOfGeneration)
    {
        var children = new List<Dictionary<int, int>> { new() };
        var ends = new List<List<int>?> { null };
        var partials = new List<List<(int, PartialUtf8)>?> { null };
        var cps = new List<int>();
        var checkable = new bool[pieces.Length];
        var whole = new bool[pieces.Length];
        for (int id = 0; id < pieces.Length; id++)
        {
            byte[] piece = pieces[id];
            if (endOfGeneration[id] || piece.Length == 0 || piece[0] == 0)
                continue;
            var tail = PartialUtf8.Decode(piece, default, cps);
            if (tail.Remaining < 0 || cps.Count == 0 && tail.Remaining == 0)
                continue;
            checkable[id] = true;
            whole[id] = cps.Count > 0;
            int node = 0;
            foreach (int cp in cps)
            {
                if (!children[node].TryGetValue(cp, out int child))
                {
                    child = children.Count;
                    children[node][cp] = child;
                    children.Add([]);
                    ends.Add(null);
                    partials.Add(null);
                }
                node = child;
            }
            if (tail.Remaining == 0)
                (ends[node] ??= []).Add(id);
            else
                (partials[node] ??= []).Add((id, tail));
        }
        Checkable = checkable;
        StartsWithCharacter = whole;

        int n = children.Count;
        _childStart = new int[n + 1];
        _endStart = new int[n + 1];
        _partialStart = new int[n + 1];
        _childCodePoint = new int[n - 1];
        _childNode = new int[n - 1];
        _ends = new int[ends.Sum(e => e?.Count ?? 0)];
        _partials = new (int, PartialUtf8)[partials.Sum(p => p?.Count ?? 0)];
        int c = 0, e = 0, p = 0;
        for (int node = 0; node < n; node++)
        {
            _childStart[node] = c;
            foreach (var (cp, child) in children[node].OrderBy(kv => kv.Key))
            {
                _childCodePoint[c] = cp;
                _childNode[c++] = child;
            }
            _endStart[node] = e;
            foreach (int id in ends[node] ?? [])
                _ends[e++] = id;
            _partialStart[node] = p;
            foreach (var t in partials[node] ?? [])
                _partials[p++] = t;
        }
        _childStart[n] = c;
        _endStart[n] = e;
        _partialStart[n] = p;
    }

    /// <summary>True for the tokens in the trie: those a character-by-character check applies to.</summary>
    public bool[] Checkable { get; }

    /// <summary>
    /// True for the tokens in the trie whose piece holds at least one whole character: those a token element
    /// (<c>&lt;[id]&gt;</c>, <c>!&lt;[id]&gt;</c>) can match, as llama.cpp checks <c>*code_points != 0</c>.
    /// </summary>
    public bool[] StartsWithCharacter { get; }

    public const int Root = 0;

    public ReadOnlySpan<int> ChildCodePoints(int node) => _childCodePoint.AsSpan(_childStart[node], _childStart[node + 1] - _childStart[node]);

    public int Child(int node, int index) => _childNode[_childStart[node] + index];

    public ReadOnlySpan<int> Ends(int node) => _ends.AsSpan(_endStart[node], _endStart[node + 1] - _endStart[node]);

    public ReadOnlySpan<(int Token, PartialUtf8 Tail)> Partials(int node) =>
        _partials.AsSpan(_partialStart[node], _partialStart[node + 1] - _partialStart[node]);
}
