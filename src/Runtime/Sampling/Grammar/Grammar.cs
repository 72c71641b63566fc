using LlamaAot.Diagnostics;
namespace LlamaAot.Sampling;

/// <summary>
/// A parsed GBNF grammar (llama.cpp's syntax: <c>root ::= ...</c> rules, alternation, grouping, <c>* + ?</c>,
/// <c>{m} {m,} {m,n}</c>, character classes, escapes, comments, and the token forms <c>&lt;[id]&gt;</c>,
/// <c>!&lt;[id]&gt;</c>, <c>&lt;|token|&gt;</c>). Immutable: one grammar can constrain many samplers at once, each
/// with its own parse state. Set it as <see cref="SamplingOptions.Grammar"/>.
/// </summary>
public sealed class Grammar
{
    private Grammar(string source, GrammarElement[] elements, int[] ruleStart, string[] ruleNames, int root, string[] tokenTexts)
    {
        Source = source;
        Elements = elements;
        RuleStart = ruleStart;
        RuleNames = ruleNames;
        Root = root;
        TokenTexts = tokenTexts;
    }

    /// <summary>The GBNF text the grammar was parsed from (for a JSON schema, the converted grammar).</summary>
    public string Source { get; }

    /// <summary>Every rule's elements, rule after rule, each rule ending with <see cref="GrammarElementType.End"/>.</summary>
    internal GrammarElement[] Elements { get; }

    /// <summary>Where each rule (by id) starts in <see cref="Elements"/>.</summary>
    internal int[] RuleStart { get; }

    internal string[] RuleNames { get; }

    /// <summary>The id of the start rule.</summary>
    internal int Root { get; }

    /// <summary>The texts of tokens written by name (<c>&lt;|im_start|&gt;</c>), bound to ids by a vocabulary.</summary>
    internal string[] TokenTexts { get; }

    /// <summary>
    /// Parses GBNF text. <paramref name="root"/> names the start rule (llama.cpp's <c>grammar_root</c>).
    /// </summary>
    /// <exception cref="GrammarException">
    /// A syntax error (the message gives the line, the column and what was expected), an undefined rule, no
    /// <paramref name="root"/> rule, left recursion, or a grammar past the size bounds.
    /// </exception>
    public static Grammar Parse(string gbnf, string root = "root")
    {
        ArgumentNullException.ThrowIfNull(gbnf);
        ArgumentNullException.ThrowIfNull(root);
        var (rules, names, tokenTexts) = GbnfParser.Parse(gbnf);
        int rootId = Array.IndexOf(names, root);
        if (rootId < 0)
            throw new GrammarException($"the grammar has no {Excerpt.Quote(root)} rule, where generation starts: add a line '{Excerpt.Quote(root)[1..^1]} ::= ...'");

        var starts = new int[rules.Length];
        var elements = new GrammarElement[rules.Sum(r => r.Count)];
        int at = 0;
        for (int id = 0; id < rules.Length; id++)
        {
            starts[id] = at;
            rules[id].CopyTo(elements, at);
            at += rules[id].Count;
        }
        var grammar = new Grammar(gbnf, elements, starts, names, rootId, tokenTexts);
        grammar.RejectLeftRecursion();
        return grammar;
    }

    /// <summary>
    /// Converts a JSON schema to a grammar whose sentences are the JSON values valid under it, as llama.cpp's
    /// <c>json_schema_to_grammar</c> does (<see cref="JsonSchemaConverter"/> says what it covers).
    /// </summary>
    /// <exception cref="GrammarException">
    /// The text is not JSON, or the schema is invalid or uses a keyword the converter cannot express (named).
    /// </exception>
    public static Grammar FromJsonSchema(string schema)
    {
        var grammar = Parse(JsonSchemaConverter.Convert(schema, out var warnings));
        grammar.Warnings = warnings;
        return grammar;
    }

    /// <summary>
    /// What the grammar does not enforce of the schema it was converted from (llama.cpp ignores <c>uniqueItems</c>, and
    /// so does this converter, saying so here); empty for GBNF.
    /// </summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];

    public override string ToString() => Source;

    /// <summary>The alternatives of rule <paramref name="id"/>, as (start, end) ranges of <see cref="Elements"/>.</summary>
    internal IEnumerable<(int Start, int End)> Alternatives(int id)
    {
        int pos = RuleStart[id];
        while (true)
        {
            int start = pos;
            while (!Elements[pos].IsEndOfSequence)
                pos++;
            yield return (start, pos);
            if (Elements[pos].Type == GrammarElementType.End)
                yield break;
            pos++;
        }
    }

    /// <summary>
    /// Rejects a rule that can reach itself before reading anything, as llama.cpp's
    /// <c>llama_grammar_detect_left_recursion</c> does: a rule counts as possibly empty when one of its alternatives
    /// is empty as written (llama.cpp's test). Recursion that hides behind a rule deriving the empty string through
    /// others (<c>e ::= x e "a"</c>, <c>x ::= y</c>, <c>y ::= </c>) passes here as there; the parse-stack bound of
    /// <see cref="GrammarMatcher"/> stops it instead of letting it grow without end.
    /// </summary>
    private void RejectLeftRecursion()
    {
        int n = RuleStart.Length;
        var nullable = new bool[n];
        for (int id = 0; id < n; id++)
            nullable[id] = Alternatives(id).Any(a => a.Start == a.End);

        // The rules each rule can begin with: its alternatives' leading references, past the nullable ones.
        var leftEdges = new List<int>[n];
        for (int id = 0; id < n; id++)
        {
            leftEdges[id] = [];
            foreach (var (start, end) in Alternatives(id))
            {
                for (int i = start; i < end && Elements[i].Type == GrammarElementType.RuleRef; i++)
                {
                    leftEdges[id].Add(Elements[i].Value);
                    if (!nullable[Elements[i].Value])
                        break;
                }
            }
        }

        // Depth-first search for a cycle, iterative so a long chain of rules cannot overflow the stack.
        var state = new byte[n]; // 0 unvisited, 1 on the path, 2 done
        var path = new Stack<(int Rule, int Edge)>();
        for (int first = 0; first < n; first++)
        {
            if (state[first] != 0)
                continue;
            path.Push((first, 0));
            state[first] = 1;
            while (path.Count > 0)
            {
                var (rule, edge) = path.Pop();
                if (edge == leftEdges[rule].Count)
                {
                    state[rule] = 2;
                    continue;
                }
                path.Push((rule, edge + 1));
                int next = leftEdges[rule][edge];
                if (state[next] == 1)
                {
                    var cycle = path.Select(p => RuleNames[p.Rule]).Reverse().SkipWhile(name => name != RuleNames[next]).Append(RuleNames[next]).ToList();
                    string shown = string.Join(" -> ", cycle.Take(6).Select(Excerpt.Quote)) + (cycle.Count > 6 ? " -> ..." : "");
                    throw new GrammarException(
                        $"left recursion: rule {Excerpt.Quote(RuleNames[next])} can reach itself without reading a character ({shown}); rewrite it with repetition, e.g. expr ::= term (\"+\" term)*");
                }
                if (state[next] == 0)
                {
                    state[next] = 1;
                    path.Push((next, 0));
                }
            }
        }
    }
}
