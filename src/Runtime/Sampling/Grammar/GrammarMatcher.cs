using LlamaAot.Diagnostics;
using System.Runtime.CompilerServices;

namespace LlamaAot.Sampling;

/// <summary>
/// The grammar recognizer: where generation stands in a grammar, as llama.cpp's <c>llama_grammar</c> keeps it - a
/// set of parse stacks, each ending at a terminal (a character class or a token), plus the partial UTF-8 character
/// the last token may have cut - and the two questions the sampler asks: which tokens continue a sentence from here
/// (<see cref="Apply"/>, <see cref="Allows"/>), and where a chosen token leads (<see cref="Accept"/>).
/// </summary>
/// <remarks>
/// The semantics are llama.cpp 0.5.0's (<c>llama_grammar_advance_stack</c>, <c>llama_grammar_accept_token</c>,
/// <c>llama_grammar_reject_candidates_for_stack</c>, <c>llama_grammar_apply_impl</c>) with one difference: a token
/// element reached in the middle of a token's text never matches. llama.cpp's check lets it match by id there (token
/// "at" passes <c>"a" &lt;[294]&gt;</c>), but its accept drops a stack that reaches a token element partway through a
/// token, and throws "Unexpected empty grammar stack" when none is left: such a token fails the generation. Here the
/// check keeps exactly the tokens llama.cpp's check keeps and its accept takes (TokenElementTests holds this against
/// llama.cpp's own answers on stories260K's vocabulary). The whole-vocabulary check walks a trie of the pieces rather
/// than each token in turn, so tokens sharing a prefix are matched once.
/// </remarks>
internal sealed class GrammarMatcher
{
    /// <summary>Bounds on the parse state: a grammar that passes them is an error, never a hang or unbounded memory.</summary>
    internal const int MaxStacks = 10_000, MaxDepth = 100_000, MaxExpansions = 200_000;

    private readonly GrammarElement[] _el;
    private readonly int[] _classEnd; // for a class's first element: the position after the class
    private readonly ulong[] _asciiLo, _asciiHi; // for a class's first element: which ASCII characters it accepts
    private readonly int[] _ruleStart;
    private readonly GrammarVocabulary _vocab;
    private readonly ParseStack[] _initial;
    private List<ParseStack> _stacks;
    private PartialUtf8 _partial;

    // Scratch for Apply, reused from token to token.
    private readonly bool[] _allowed;
    private readonly Dictionary<ParseStack, ParseStack[]> _after = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<ParseStack> _canonical = new(ParseStack.ContentComparer.Instance);
    private readonly List<List<ParseStack>> _levels = [];
    private readonly List<int> _codePoints = [];

    public GrammarMatcher(Grammar grammar, GrammarVocabulary vocab)
    {
        _vocab = vocab;
        _el = Bind(grammar, vocab);
        _ruleStart = grammar.RuleStart;
        _classEnd = new int[_el.Length];
        _asciiLo = new ulong[_el.Length];
        _asciiHi = new ulong[_el.Length];
        for (int pos = 0; pos < _el.Length; pos++)
        {
            if (!_el[pos].IsCharStart)
                continue;
            for (int cp = 0; cp < 128; cp++)
            {
                if (MatchCharSlow(pos, cp, out _classEnd[pos]))
                {
                    if (cp < 64)
                        _asciiLo[pos] |= 1UL << cp;
                    else
                        _asciiHi[pos] |= 1UL << (cp - 64);
                }
            }
        }
        _allowed = new bool[vocab.Count];

        var initial = new StackSet();
        foreach (var (start, end) in grammar.Alternatives(grammar.Root))
            Advance(start == end ? ParseStack.Empty : ParseStack.Empty.Push(start), initial);
        _initial = [.. initial.Items];
        _stacks = [.. _initial];
    }

    /// <summary>True when the text so far is a whole sentence of the grammar: end of generation may come here.</summary>
    public bool IsComplete => _stacks.Exists(s => s.IsEmpty);

    internal IReadOnlyList<ParseStack> Stacks => _stacks;

    /// <summary>Back to the start of the grammar.</summary>
    public void Reset()
    {
        _stacks = [.. _initial];
        _partial = default;
    }

    /// <summary>
    /// Records a chosen token (llama.cpp's <c>llama_grammar_accept_impl</c>): end of generation is accepted where the
    /// grammar is complete, any other token must continue it.
    /// </summary>
    /// <exception cref="GrammarException">The token does not continue the grammar.</exception>
    public void Accept(int token)
    {
        if (_vocab.IsEndOfGeneration(token))
        {
            if (!IsComplete)
                throw new GrammarException($"token {token} ends generation where the grammar's sentence is not complete");
            return;
        }
        AcceptPiece(token, _vocab.Piece(token));
    }

    /// <summary>Advances every stack over one token with the given piece (llama.cpp's <c>llama_grammar_accept_token</c>).</summary>
    internal void AcceptPiece(int token, ReadOnlySpan<byte> piece)
    {
        var tail = PartialUtf8.Decode(piece, _partial, _codePoints);
        var result = new StackSet();
        foreach (var stack in _stacks)
        {
            if (stack.IsEmpty)
                continue;
            var top = _el[stack.Top];
            if (top.IsToken)
            {
                if (MatchToken(top, token))
                    Advance(Pop(stack, stack.Top + 1), result);
                continue;
            }
            var current = new StackSet();
            current.Add(stack);
            foreach (int cp in _codePoints)
            {
                var next = new StackSet();
                foreach (var s in current.Items)
                    AcceptChar(s, cp, next);
                current = next;
                if (current.Items.Count == 0)
                    break;
            }
            foreach (var s in current.Items)
                result.Add(s);
        }
        if (result.Items.Count == 0)
            throw new GrammarException($"token {token} ({Excerpt.Quote(Show(piece))}) does not continue the grammar");
        _stacks = result.Items;
        _partial = tail;
    }

    /// <summary>True when <paramref name="token"/> continues the grammar (llama.cpp's check of a single candidate).</summary>
    public bool Allows(int token)
    {
        if (_vocab.IsEndOfGeneration(token))
            return IsComplete;
        ReadOnlySpan<byte> piece = _vocab.Piece(token);
        if (piece.IsEmpty || piece[0] == 0)
            return false;
        var tail = PartialUtf8.Decode(piece, _partial, _codePoints);
        foreach (var stack in _stacks)
            if (Accepts(stack, token, 0, tail))
                return true;
        return false;
    }

    private bool Accepts(ParseStack stack, int token, int index, PartialUtf8 tail)
    {
        if (stack.IsEmpty)
            return index == _codePoints.Count && tail.Remaining == 0;
        var top = _el[stack.Top];
        if (index == _codePoints.Count)
            return tail.Remaining == 0 || (!top.IsToken && MatchPartial(stack.Top, tail));
        if (top.IsToken)
            return index == 0 && MatchToken(top, token);
        if (!MatchChar(stack.Top, _codePoints[index]))
            return false;
        var next = new StackSet();
        Advance(Pop(stack, _classEnd[stack.Top]), next);
        foreach (var s in next.Items)
            if (Accepts(s, token, index + 1, tail))
                return true;
        return false;
    }

    /// <summary>
    /// Keeps, of the candidates, those that continue the grammar (llama.cpp's <c>llama_grammar_apply_impl</c> gives the
    /// others a logit of -infinity; dropping them changes no later step). Returns how many are left.
    /// </summary>
    public int Apply(CandidateSet candidates)
    {
        Span<TokenData> items = candidates.Items;
        bool complete = IsComplete;
        int kept = 0;
        if (_partial.Remaining != 0)
        {
            // In the middle of a character: few tokens can continue it, each is checked alone.
            foreach (ref readonly TokenData t in items)
                if (Allows(t.Id))
                    items[kept++] = t;
        }
        else
        {
            MarkAllowed();
            foreach (ref readonly TokenData t in items)
                if (_vocab.IsEndOfGeneration(t.Id) ? complete : _allowed[t.Id])
                    items[kept++] = t;
        }
        candidates.Truncate(kept);
        return kept;
    }

    /// <summary>Sets <see cref="_allowed"/> for every token that continues the grammar from a whole character.</summary>
    private void MarkAllowed()
    {
        Array.Clear(_allowed);
        _after.Clear();
        _canonical.Clear();
        var trie = _vocab.Trie;
        var chars = Level(0);
        foreach (var stack in _stacks)
        {
            if (stack.IsEmpty)
                continue;
            var top = _el[stack.Top];
            if (!top.IsToken)
            {
                chars.Add(Canonical(stack));
            }
            else if (top.Type == GrammarElementType.Token)
            {
                if ((uint)top.Value < (uint)_allowed.Length && trie.StartsWithCharacter[top.Value])
                    _allowed[top.Value] = true;
            }
            else
            {
                for (int id = 0; id < _allowed.Length; id++)
                    _allowed[id] |= id != top.Value && trie.StartsWithCharacter[id];
            }
        }
        if (chars.Count > 0)
            Visit(PieceTrie.Root, chars, 0);
    }

    /// <summary>Marks the tokens ending at trie node <paramref name="node"/>, then follows each child character the stacks accept.</summary>
    private void Visit(int node, List<ParseStack> stacks, int depth)
    {
        var trie = _vocab.Trie;
        foreach (int id in trie.Ends(node))
            _allowed[id] = true;
        foreach (var (id, tail) in trie.Partials(node))
        {
            if (_allowed[id])
                continue;
            foreach (var s in stacks)
            {
                if (!s.IsEmpty && !_el[s.Top].IsToken && MatchPartial(s.Top, tail))
                {
                    _allowed[id] = true;
                    break;
                }
            }
        }

        ReadOnlySpan<int> codePoints = trie.ChildCodePoints(node);
        var next = Level(depth + 1);
        for (int i = 0; i < codePoints.Length; i++)
        {
            next.Clear();
            int cp = codePoints[i];
            foreach (var s in stacks)
            {
                if (s.IsEmpty || _el[s.Top].IsToken || !MatchChar(s.Top, cp))
                    continue;
                foreach (var n in After(s))
                    if (!next.Contains(n)) // canonical stacks: reference equality is content equality
                        next.Add(n);
            }
            if (next.Count > 0)
                Visit(trie.Child(node, i), next, depth + 1);
        }
    }

    /// <summary>The stacks after the character class on top of <paramref name="s"/> matched (the same for every character).</summary>
    private ParseStack[] After(ParseStack s)
    {
        if (!_after.TryGetValue(s, out var result))
        {
            var set = new StackSet();
            Advance(Pop(s, _classEnd[s.Top]), set);
            result = new ParseStack[set.Items.Count];
            for (int i = 0; i < result.Length; i++)
                result[i] = Canonical(set.Items[i]);
            _after[s] = result;
        }
        return result;
    }

    private ParseStack Canonical(ParseStack s)
    {
        if (_canonical.TryGetValue(s, out var existing))
            return existing;
        _canonical.Add(s);
        return s;
    }

    private List<ParseStack> Level(int depth)
    {
        while (_levels.Count <= depth)
            _levels.Add([]);
        var list = _levels[depth];
        list.Clear();
        return list;
    }

    /// <summary>llama.cpp's <c>llama_grammar_accept_chr</c>: the stacks after <paramref name="cp"/>, added to <paramref name="output"/>.</summary>
    private void AcceptChar(ParseStack stack, int cp, StackSet output)
    {
        if (stack.IsEmpty || _el[stack.Top].IsToken || !MatchChar(stack.Top, cp))
            return;
        Advance(Pop(stack, _classEnd[stack.Top]), output);
    }

    /// <summary>The stack without its top, with <paramref name="next"/> pushed unless the rule's alternative ends there.</summary>
    private ParseStack Pop(ParseStack stack, int next) =>
        _el[next].IsEndOfSequence ? stack.Parent! : stack.Parent!.Push(next);

    /// <summary>
    /// llama.cpp's <c>llama_grammar_advance_stack</c>: expands rule references on top of <paramref name="stack"/> until
    /// every resulting stack ends at a terminal or is empty, adding each new one to <paramref name="output"/>.
    /// </summary>
    private void Advance(ParseStack stack, StackSet output)
    {
        var todo = new Stack<ParseStack>();
        var seen = new HashSet<ParseStack>(ParseStack.ContentComparer.Instance);
        todo.Push(stack);
        while (todo.Count > 0)
        {
            var current = todo.Pop();
            if (!seen.Add(current))
                continue;
            if (seen.Count > MaxExpansions)
                throw new GrammarException($"the grammar's parse expands past {MaxExpansions} stacks at one character: it is too ambiguous");
            if (current.IsEmpty)
            {
                output.Add(current);
                continue;
            }
            var top = _el[current.Top];
            if (top.Type != GrammarElementType.RuleRef)
            {
                output.Add(current);
                continue;
            }
            if (current.Depth >= MaxDepth)
                throw new GrammarException($"the grammar's parse stack grew past {MaxDepth} entries (a rule that can call itself without reading a character, or nesting that deep)");
            var below = _el[current.Top + 1].IsEndOfSequence ? current.Parent! : current.Parent!.Push(current.Top + 1);
            int sub = _ruleStart[top.Value];
            while (true)
            {
                todo.Push(_el[sub].IsEndOfSequence ? below : below.Push(sub));
                while (!_el[sub].IsEndOfSequence)
                    sub++;
                if (_el[sub].Type != GrammarElementType.Alt)
                    break;
                sub++;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool MatchChar(int pos, int cp)
    {
        if ((uint)cp < 64)
            return (_asciiLo[pos] & (1UL << cp)) != 0;
        if ((uint)cp < 128)
            return (_asciiHi[pos] & (1UL << (cp - 64))) != 0;
        return MatchCharSlow(pos, cp, out _);
    }

    /// <summary>llama.cpp's <c>llama_grammar_match_char</c>: whether the class at <paramref name="pos"/> accepts <paramref name="cp"/>.</summary>
    private bool MatchCharSlow(int pos, int cp, out int end)
    {
        bool positive = _el[pos].Type != GrammarElementType.CharNot;
        bool found = false;
        uint c = (uint)cp;
        do
        {
            if (_el[pos + 1].Type == GrammarElementType.CharRangeUpper)
            {
                found |= (uint)_el[pos].Value <= c && c <= (uint)_el[pos + 1].Value;
                pos += 2;
            }
            else if (_el[pos].Type == GrammarElementType.CharAny)
            {
                found = true;
                pos++;
            }
            else
            {
                found |= (uint)_el[pos].Value == c;
                pos++;
            }
        } while (_el[pos].Type == GrammarElementType.CharAlt);
        end = pos;
        return found == positive;
    }

    /// <summary>llama.cpp's <c>llama_grammar_match_partial_char</c>: whether some completion of <paramref name="partial"/> fits the class.</summary>
    private bool MatchPartial(int pos, PartialUtf8 partial)
    {
        bool positive = _el[pos].Type != GrammarElementType.CharNot;
        if (partial.Remaining < 0 || (partial.Remaining == 1 && partial.Value < 2))
            return false; // invalid, or an overlong 2-byte form of a 7-bit character
        var (low, high) = partial.Completions();
        do
        {
            if (_el[pos + 1].Type == GrammarElementType.CharRangeUpper)
            {
                if ((uint)_el[pos].Value <= high && low <= (uint)_el[pos + 1].Value)
                    return positive;
                pos += 2;
            }
            else if (_el[pos].Type == GrammarElementType.CharAny)
            {
                return true;
            }
            else
            {
                if (low <= (uint)_el[pos].Value && (uint)_el[pos].Value <= high)
                    return positive;
                pos++;
            }
        } while (_el[pos].Type == GrammarElementType.CharAlt);
        return !positive;
    }

    private static bool MatchToken(GrammarElement e, int token) =>
        e.Type == GrammarElementType.Token ? e.Value == token : e.Value != token;

    /// <summary>The grammar's elements with tokens written by name replaced by their ids in <paramref name="vocab"/>.</summary>
    private static GrammarElement[] Bind(Grammar grammar, GrammarVocabulary vocab)
    {
        var el = (GrammarElement[])grammar.Elements.Clone();
        for (int i = 0; i < el.Length; i++)
        {
            if (el[i].Type is GrammarElementType.NamedToken or GrammarElementType.NamedTokenNot)
            {
                int id = vocab.TokenOf(grammar.TokenTexts[el[i].Value]);
                el[i] = new(el[i].Type == GrammarElementType.NamedToken ? GrammarElementType.Token : GrammarElementType.TokenNot, id);
            }
        }
        return el;
    }

    private static string Show(ReadOnlySpan<byte> piece) => System.Text.Encoding.UTF8.GetString(piece);

    /// <summary>Stacks without duplicates (by content), in the order first added, bounded in number.</summary>
    private sealed class StackSet
    {
        private readonly HashSet<ParseStack> _set = new(ParseStack.ContentComparer.Instance);

        public List<ParseStack> Items { get; } = [];

        public void Add(ParseStack s)
        {
            if (!_set.Add(s))
                return;
            if (_set.Count > MaxStacks)
                throw new GrammarException($"the grammar has more than {MaxStacks} parse stacks at once: it is too ambiguous");
            Items.Add(s);
        }
    }
}
