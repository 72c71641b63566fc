using LlamaAot.Sampling;

namespace LlamaAot.Tests.Grammars;

/// <summary>
/// Token elements (<c>&lt;[id]&gt;</c>, <c>!&lt;[id]&gt;</c>) against llama.cpp 0.5.0 on stories260K's vocabulary
/// (TokenElementOracle/cases.txt, written by its make-cases.sh from llama.cpp's own grammar code).
/// </summary>
/// <remarks>
/// llama.cpp asks two questions of a token. Its check (<c>llama_grammar_reject_candidates_for_stack</c>, which both
/// the sampler's look at its first choice and the full-vocabulary pass go through) walks the token's code points
/// down each stack, and when a stack's top is a token element it decides by id alone, wherever in the token's text
/// it is: with <c>"a" &lt;[294]&gt;</c>, token 294 ("at") passes, its "a" matching the literal and its id the
/// element. Its accept (<c>llama_grammar_accept_token</c>) decides by id only for a stack whose top is a token element
/// where the token starts; partway through the text, <c>llama_grammar_accept_chr</c> drops a stack that has reached a
/// token element ("ignore if this turns into a token"). So a token the check lets through that way leaves no stack, and
/// accept throws "Unexpected empty grammar stack after accepting piece: at (294)": a failed generation
/// (llama-server answers the request with that error). The grammar's sentences are what accept takes, as llama.cpp's
/// own grammar-integration test runs them.
/// <para>llama-aot's check is llama.cpp's check with that one path closed (a token element matches only where a
/// token starts): it keeps exactly the tokens llama.cpp's check keeps and its accept then takes, and leaves out the
/// ones that would fail, so every token it allows, its accept takes (as llama.cpp's accept does).</para>
/// </remarks>
public sealed class TokenElementTests(GrammarGenerationTests.Stories stories) : IClassFixture<GrammarGenerationTests.Stories>
{
    public sealed record Case(string Grammar, int[] Prefix, SortedSet<int> Check, SortedSet<int> Accept)
    {
        public override string ToString() => Prefix.Length == 0 ? Grammar : $"{Grammar} after [{string.Join(' ', Prefix)}]";
    }

    private static readonly Case[] Cases = Load();

    private static Case[] Load()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Grammars", "TokenElementOracle", "cases.txt");
        return [.. File.ReadLines(path).Where(l => l.Length > 0).Select(line =>
        {
            string[] f = line.Split('\t');
            return new Case(f[0], Ids(f[1]), [.. Ids(f[2]["check:".Length..])], [.. Ids(f[3]["accept:".Length..])]);
        })];
    }

    private static int[] Ids(string s) => [.. s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse)];

    public static TheoryData<int> CaseIndices() => [.. Enumerable.Range(0, Cases.Length)];

    private GrammarVocabulary Vocabulary => GrammarVocabulary.For(stories.Model.Tokenizer);

    private GrammarMatcher After(Case c)
    {
        var matcher = new GrammarMatcher(Grammar.Parse(c.Grammar), Vocabulary);
        foreach (int t in c.Prefix)
            matcher.Accept(t);
        return matcher;
    }

    /// <summary>The tokens the full-vocabulary pass keeps, and those the single-token check allows: the same set.</summary>
    private (SortedSet<int> Apply, SortedSet<int> Allows) Ours(Case c)
    {
        var matcher = After(c);
        var set = new CandidateSet(Vocabulary.Count);
        set.Load(new float[Vocabulary.Count]);
        matcher.Apply(set);
        var apply = new SortedSet<int>();
        foreach (var t in set.Items)
            apply.Add(t.Id);
        return (apply, [.. Enumerable.Range(0, Vocabulary.Count).Where(matcher.Allows)]);
    }

    private bool AcceptTakes(Case c, int token)
    {
        try
        {
            After(c).Accept(token);
            return true;
        }
        catch (GrammarException)
        {
            return false;
        }
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void AllowsWhatLlamaCppsCheckAllowsAndItsAcceptTakes(int index)
    {
        var c = Cases[index];
        var (apply, allows) = Ours(c);
        Assert.Equal(apply, allows);
        var expected = new SortedSet<int>(c.Check);
        expected.IntersectWith(c.Accept);
        Assert.Equal(expected, apply);
    }

    /// <summary>What llama.cpp's check allows and ours does not is exactly what both accepts refuse.</summary>
    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void TokensLlamaCppsCheckAloneLetThroughFailInBothAccepts(int index)
    {
        var c = Cases[index];
        var (ours, _) = Ours(c);
        foreach (int token in c.Check.Where(t => !ours.Contains(t)))
        {
            Assert.DoesNotContain(token, c.Accept);
            Assert.False(AcceptTakes(c, token), $"{c}: our accept takes {token}, which llama.cpp's refuses");
        }
    }

    /// <summary>
    /// The cases of the remarks, by name: "at" (294) against <c>"a" &lt;[294]&gt;</c> is allowed by llama.cpp's
    /// check and refused by its accept; not allowed here, and refused by the accept here too. After "a" (412) it is
    /// the only token allowed, in both.
    /// </summary>
    [Fact]
    public void ATokenElementReachedPartwayThroughATokenDoesNotMatch()
    {
        var partway = Cases.Single(c => c.Grammar == "root ::= \"a\" <[294]>" && c.Prefix.Length == 0);
        Assert.Equal([100, 294, 412], partway.Check);
        Assert.DoesNotContain(294, partway.Accept);
        Assert.Equal([100, 412], Ours(partway).Apply);
        Assert.False(AcceptTakes(partway, 294));

        var after = Cases.Single(c => c.Grammar == "root ::= \"a\" <[294]>" && c.Prefix is [412]);
        Assert.Equal([294], after.Check);
        Assert.Equal([294], Ours(after).Apply);

        // "a" then !<[294]>: llama.cpp's check lets every "a..." token through (an, ar, ay, ...), and each fails its accept.
        var negated = Cases.Single(c => c.Grammar == "root ::= \"a\" !<[294]>" && c.Prefix.Length == 0);
        Assert.Equal(8, negated.Check.Count);
        Assert.Equal([100, 412], Ours(negated).Apply);
    }
}
