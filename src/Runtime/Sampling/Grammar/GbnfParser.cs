using LlamaAot.Diagnostics;
using System.Globalization;

namespace LlamaAot.Sampling;

/// <summary>
/// Reads GBNF text into rules of <see cref="GrammarElement"/>s, with llama.cpp 0.5.0's syntax and rewriting
/// (<c>llama_grammar_parser</c>): groups become generated rules, <c>* + ? {m} {m,} {m,n}</c> become right-recursive
/// generated rules, and a class <c>[a-z0-9_]</c> becomes Char, CharRangeUpper, CharAlt elements. Errors say where
/// (line and column) and what was expected there.
/// </summary>
internal sealed class GbnfParser
{
    /// <summary>Largest repetition count llama.cpp accepts (<c>MAX_REPETITION_THRESHOLD</c>); a larger maximum means none.</summary>
    internal const int MaxRepetitions = 2000;

    /// <summary>Bound on the elements of all rules after rewriting, so a small text cannot expand into gigabytes.</summary>
    internal const int MaxElements = 1 << 22;

    /// <summary>Bound on the grammar text's length.</summary>
    internal const int MaxSourceLength = 1 << 24;

    // Groups nest by recursion: a bound keeps a text of a million '(' from overflowing the thread's stack.
    private const int MaxNesting = 1000;

    private readonly string _src;
    private int _pos, _elements, _nesting;
    private readonly Dictionary<string, int> _symbolIds = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly List<List<GrammarElement>?> _rules = [];
    private readonly List<string> _tokenTexts = [];
    private readonly Dictionary<int, int> _firstUse = []; // rule id -> where it was first referenced, for errors

    private GbnfParser(string src) => _src = src;

    /// <summary>Parses <paramref name="src"/>; the rules are indexed by symbol id, names beside them.</summary>
    public static (List<GrammarElement>[] Rules, string[] Names, string[] TokenTexts) Parse(string src)
    {
        if (src.Length > MaxSourceLength)
            throw new GrammarException($"the grammar is {src.Length} characters long; the limit is {MaxSourceLength}");
        var p = new GbnfParser(src);
        p.ParseAll();
        return ([.. p._rules.Select(r => r!)], [.. p._names], [.. p._tokenTexts]);
    }

    private void ParseAll()
    {
        SkipSpace(newlineOk: true);
        if (AtEnd)
            throw new GrammarException("the grammar has no rules: write at least 'root ::= ...'");
        while (!AtEnd)
            ParseRule();
        for (int id = 0; id < _rules.Count; id++)
        {
            if (_rules[id] is null)
                throw Error($"rule {Excerpt.Quote(_names[id])} is used but never defined (expected a line '{Excerpt.Quote(_names[id])[1..^1]} ::= ...')", _firstUse[id]);
        }
    }

    private void ParseRule()
    {
        int nameStart = _pos;
        string name = ParseName("a rule name");
        SkipSpace(newlineOk: false);
        int ruleId = SymbolId(name, nameStart);
        if (!_src.AsSpan(_pos).StartsWith("::="))
            throw Error($"expected '::=' after the rule name {Excerpt.Quote(name)}{Found()}");
        _pos += 3;
        SkipSpace(newlineOk: true);
        ParseAlternates(name, ruleId, nested: false);
        if (Peek == '\r')
            _pos += _pos + 1 < _src.Length && _src[_pos + 1] == '\n' ? 2 : 1;
        else if (Peek == '\n')
            _pos++;
        else if (!AtEnd)
            throw Error($"expected a rule element, '|' or the end of the line{Found()}");
        SkipSpace(newlineOk: true);
    }

    private void ParseAlternates(string ruleName, int ruleId, bool nested)
    {
        var rule = new List<GrammarElement>();
        ParseSequence(ruleName, rule, nested);
        while (Peek == '|')
        {
            Add(rule, new(GrammarElementType.Alt, 0));
            _pos++;
            SkipSpace(newlineOk: true);
            ParseSequence(ruleName, rule, nested);
        }
        Add(rule, new(GrammarElementType.End, 0));
        while (_rules.Count <= ruleId)
            _rules.Add(null);
        _rules[ruleId] = rule;
    }

    private void ParseSequence(string ruleName, List<GrammarElement> rule, bool nested)
    {
        int lastSymStart = rule.Count;
        long prevRules = 1; // rules the last symbol expands to, for llama.cpp's bound on nested repetitions
        while (!AtEnd)
        {
            char c = Peek;
            int start = _pos;
            if (c == '"')
            {
                _pos++;
                lastSymStart = rule.Count;
                prevRules = 1;
                while (Peek != '"')
                {
                    if (AtEnd)
                        throw Error("unterminated string literal: expected a closing '\"'", start);
                    Add(rule, new(GrammarElementType.Char, ParseChar()));
                }
                _pos++;
                SkipSpace(nested);
            }
            else if (c == '[')
            {
                _pos++;
                var startType = GrammarElementType.Char;
                if (Peek == '^')
                {
                    _pos++;
                    startType = GrammarElementType.CharNot;
                }
                lastSymStart = rule.Count;
                prevRules = 1;
                while (Peek != ']')
                {
                    if (AtEnd)
                        throw Error("unterminated character class: expected a closing ']'", start);
                    var type = lastSymStart < rule.Count ? GrammarElementType.CharAlt : startType;
                    Add(rule, new(type, ParseChar()));
                    if (Peek == '-' && _pos + 1 < _src.Length && _src[_pos + 1] != ']')
                    {
                        _pos++;
                        Add(rule, new(GrammarElementType.CharRangeUpper, ParseChar()));
                    }
                }
                _pos++;
                SkipSpace(nested);
            }
            else if (c is '<' or '!')
            {
                bool not = c == '!';
                if (not)
                    _pos++;
                lastSymStart = rule.Count;
                prevRules = 1;
                Add(rule, ParseToken(not));
                SkipSpace(nested);
            }
            else if (IsWordChar(c))
            {
                string name = ParseName("a rule name");
                int refId = SymbolId(name, start);
                SkipSpace(nested);
                lastSymStart = rule.Count;
                prevRules = 1;
                Add(rule, new(GrammarElementType.RuleRef, refId));
            }
            else if (c == '(')
            {
                if (++_nesting > MaxNesting)
                    throw Error($"groups nest more than {MaxNesting} deep");
                _pos++;
                SkipSpace(newlineOk: true);
                int before = _symbolIds.Count;
                int subId = GenerateSymbolId(ruleName);
                ParseAlternates(ruleName, subId, nested: true);
                prevRules = Math.Max(1, _symbolIds.Count - before);
                lastSymStart = rule.Count;
                Add(rule, new(GrammarElementType.RuleRef, subId));
                if (Peek != ')')
                    throw Error($"expected ')' to close the group opened at {Place(start)}{Found()}");
                _nesting--;
                _pos++;
                SkipSpace(nested);
            }
            else if (c == '.')
            {
                lastSymStart = rule.Count;
                prevRules = 1;
                Add(rule, new(GrammarElementType.CharAny, 0));
                _pos++;
                SkipSpace(nested);
            }
            else if (c is '*' or '+' or '?')
            {
                _pos++;
                SkipSpace(nested);
                Repeat(ruleName, rule, lastSymStart, ref prevRules, c == '+' ? 1 : 0, c == '?' ? 1 : -1, start);
            }
            else if (c == '{')
            {
                _pos++;
                SkipSpace(nested);
                long min = ParseInt(), max;
                SkipSpace(nested);
                if (Peek == '}')
                {
                    max = min;
                }
                else if (Peek == ',')
                {
                    _pos++;
                    SkipSpace(nested);
                    max = IsDigit(Peek) ? ParseInt() : -1;
                    SkipSpace(nested);
                    if (Peek != '}')
                        throw Error($"expected '}}' to close the repetition{Found()}");
                }
                else
                {
                    throw Error($"expected ',' or '}}' in the repetition{Found()}");
                }
                _pos++;
                SkipSpace(nested);
                if (min > MaxRepetitions)
                    throw Error($"a repetition of at least {min} is more than the {MaxRepetitions} allowed", start);
                if (max > MaxRepetitions)
                    max = -1; // as llama.cpp: a maximum past the bound means no maximum
                if (max >= 0 && max < min)
                    throw Error($"the repetition's maximum {max} is below its minimum {min}", start);
                Repeat(ruleName, rule, lastSymStart, ref prevRules, (int)min, (int)max, start);
            }
            else
            {
                break;
            }
        }
    }

    /// <summary>
    /// llama.cpp's <c>handle_repetitions</c>: rewrites the last symbol S as S{min,max} (max -1: unbounded).
    /// S{m,n} becomes S repeated m times, then S'(n-m) with S'(x) ::= S S'(x-1) | and S'(1) ::= S |;
    /// S{m,} becomes S repeated m times, then S' ::= S S' |.
    /// </summary>
    private void Repeat(string ruleName, List<GrammarElement> rule, int lastSymStart, ref long prevRules, int min, int max, int at)
    {
        if (lastSymStart == rule.Count)
            throw Error("a repetition operator needs an element before it", at);
        bool noMax = max < 0;
        var prev = rule.GetRange(lastSymStart, rule.Count - lastSymStart);
        long total = !noMax && max > 0 ? max : min > 0 ? min : 1;
        if (prevRules * total > MaxRepetitions)
            throw Error($"repetitions nest into more than {MaxRepetitions} rules: reduce the repetition counts or the rule's complexity", at);

        if (min == 0)
            rule.RemoveRange(lastSymStart, rule.Count - lastSymStart);
        else
            for (int i = 1; i < min; i++)
                AddRange(rule, prev);

        int lastRecId = 0;
        int optional = noMax ? 1 : max - min;
        for (int i = 0; i < optional; i++)
        {
            var rec = new List<GrammarElement>(prev);
            int recId = GenerateSymbolId(ruleName);
            if (i > 0 || noMax)
                rec.Add(new(GrammarElementType.RuleRef, noMax ? recId : lastRecId));
            rec.Add(new(GrammarElementType.Alt, 0));
            rec.Add(new(GrammarElementType.End, 0));
            _elements += rec.Count;
            CheckSize();
            _rules[recId] = rec;
            lastRecId = recId;
        }
        if (optional > 0)
            Add(rule, new(GrammarElementType.RuleRef, lastRecId));
        prevRules *= total;
    }

    /// <summary><c>&lt;[id]&gt;</c> or <c>&lt;text&gt;</c>, after an optional '!'.</summary>
    private GrammarElement ParseToken(bool not)
    {
        int start = _pos;
        if (Peek != '<')
            throw Error($"expected '<' after '!' (a token: !<[id]> or !<name>){Found()}");
        _pos++;
        if (Peek == '[')
        {
            _pos++;
            long id = ParseInt();
            if (id > int.MaxValue)
                throw Error($"token id {id} is too large", start);
            if (Peek != ']')
                throw Error($"expected ']' after the token id{Found()}");
            _pos++;
            if (Peek != '>')
                throw Error($"expected '>' after ']'{Found()}");
            _pos++;
            return new(not ? GrammarElementType.TokenNot : GrammarElementType.Token, (int)id);
        }
        int close = _src.IndexOf('>', _pos);
        if (close < 0)
            throw Error("expected '>' to close the token", start);
        _pos = close + 1;
        _tokenTexts.Add(_src[start.._pos]);
        return new(not ? GrammarElementType.NamedTokenNot : GrammarElementType.NamedToken, _tokenTexts.Count - 1);
    }

    /// <summary>One character of a literal or class, escapes resolved (llama.cpp's <c>parse_char</c>).</summary>
    private int ParseChar()
    {
        int start = _pos;
        if (Peek == '\\')
        {
            if (_pos + 1 >= _src.Length)
                throw Error("expected an escape after '\\', found the end of the grammar");
            char e = _src[_pos + 1];
            _pos += 2;
            switch (e)
            {
                case 'x': return ParseHex(2, start);
                case 'u': return ParseHex(4, start);
                case 'U': return ParseHex(8, start);
                case 't': return '\t';
                case 'r': return '\r';
                case 'n': return '\n';
                case '\\' or '"' or '[' or ']' or '-': return e;
                default:
                    throw Error($"unknown escape {(e is > ' ' and < '\x7F' ? $"'\\{e}'" : "\\ " + Excerpt.Quote(e.ToString()))} (expected one of \\x \\u \\U \\t \\r \\n \\\\ \\\" \\[ \\] \\-)", start);
            }
        }
        int cp = char.IsSurrogatePair(_src, _pos) ? char.ConvertToUtf32(_src, _pos) : _src[_pos];
        _pos += cp > 0xFFFF ? 2 : 1;
        return cp;
    }

    private int ParseHex(int digits, int start)
    {
        uint value = 0;
        for (int i = 0; i < digits; i++)
        {
            int d = _pos < _src.Length ? HexValue(_src[_pos]) : -1;
            if (d < 0)
                throw Error($"expected {digits} hexadecimal digits after '{_src.Substring(start, 2)}'{Found()}");
            value = (value << 4) | (uint)d;
            _pos++;
        }
        return (int)value; // \U with 8 digits can exceed Unicode, as in llama.cpp: it then matches nothing
    }

    private static int HexValue(char c) =>
        c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : c is >= 'A' and <= 'F' ? c - 'A' + 10 : -1;

    private long ParseInt()
    {
        int start = _pos;
        while (IsDigit(Peek))
            _pos++;
        if (_pos == start)
            throw Error($"expected an integer{Found()}");
        return long.TryParse(_src.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : long.MaxValue;
    }

    private string ParseName(string what)
    {
        int start = _pos;
        while (IsWordChar(Peek))
            _pos++;
        if (_pos == start)
            throw Error($"expected {what} (letters, digits and '-'){Found()}");
        return _src[start.._pos];
    }

    /// <summary>Spaces, tabs and '#' comments; line ends too where <paramref name="newlineOk"/> (llama.cpp's <c>parse_space</c>).</summary>
    private void SkipSpace(bool newlineOk)
    {
        while (!AtEnd)
        {
            char c = _src[_pos];
            if (c == '#')
            {
                while (!AtEnd && _src[_pos] is not ('\r' or '\n'))
                    _pos++;
            }
            else if (c is ' ' or '\t' || (newlineOk && c is '\r' or '\n'))
            {
                _pos++;
            }
            else
            {
                break;
            }
        }
    }

    private int SymbolId(string name, int at)
    {
        if (!_symbolIds.TryGetValue(name, out int id))
        {
            id = _symbolIds.Count;
            _symbolIds.Add(name, id);
            _names.Add(name);
            _firstUse[id] = at;
            while (_rules.Count <= id)
                _rules.Add(null);
        }
        return id;
    }

    private int GenerateSymbolId(string baseName)
    {
        int id = _symbolIds.Count;
        string name = baseName + "_" + id.ToString(CultureInfo.InvariantCulture);
        _symbolIds[name] = id;
        _names.Add(name);
        while (_rules.Count <= id)
            _rules.Add(null);
        return id;
    }

    private void Add(List<GrammarElement> rule, GrammarElement e)
    {
        rule.Add(e);
        _elements++;
        CheckSize();
    }

    private void AddRange(List<GrammarElement> rule, List<GrammarElement> elements)
    {
        rule.AddRange(elements);
        _elements += elements.Count;
        CheckSize();
    }

    private void CheckSize()
    {
        if (_elements > MaxElements)
            throw Error($"the grammar expands to more than {MaxElements} elements: reduce its repetitions");
    }

    private bool AtEnd => _pos >= _src.Length;

    private char Peek => _pos < _src.Length ? _src[_pos] : '\0';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private static bool IsWordChar(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-';

    private string Found() => AtEnd ? ", found the end of the grammar" : $", found {Describe(_src[_pos])}";

    private static string Describe(char c) => c switch
    {
        '\n' or '\r' => "the end of the line",
        _ => Excerpt.Quote(c.ToString()),
    };

    private GrammarException Error(string message) => Error(message, _pos);

    private GrammarException Error(string message, int at)
    {
        (int line, int column) = LineColumn(at);
        return new GrammarException(message, line, column);
    }

    private string Place(int at)
    {
        (int line, int column) = LineColumn(at);
        return $"line {line}, column {column}";
    }

    private (int Line, int Column) LineColumn(int at)
    {
        at = Math.Min(at, _src.Length);
        int line = 1, lineStart = 0;
        for (int i = 0; i < at; i++)
        {
            if (_src[i] == '\n' || (_src[i] == '\r' && (i + 1 >= _src.Length || _src[i + 1] != '\n')))
            {
                line++;
                lineStart = i + 1;
            }
        }
        return (line, at - lineStart + 1);
    }
}
