using LlamaAot.Diagnostics;
using System.Globalization;
using System.Text;

namespace LlamaAot.Sampling;

/// <summary>
/// String <c>pattern</c>s: the subset of regular expressions llama.cpp's <c>_pattern_to_rule</c> converts (anchored
/// with ^ and $; literals, escapes, '.', classes, groups, alternation, * + ? {m,n}). A pattern outside it is an error
/// here, where llama.cpp would accept any string.
/// </summary>
internal sealed partial class JsonSchemaConverter
{
    private const int MaxPatternDepth = 100;
    private const string NonLiteral = "|.()[]{}*+?^$";
    private const string EscapedInRegexpsButNotInLiterals = "^$.[]()|{}*+?";

    private string PatternRule(string pattern, string name, string path)
    {
        if (pattern.Length < 2 || pattern[0] != '^' || pattern[^1] != '$')
            throw Fail(path, $"pattern {Excerpt.Quote(pattern)} is not supported: it must be anchored with '^' and '$'");
        var p = new PatternReader(this, pattern[1..^1], name, pattern, path);
        string rule = p.ToRule(p.Transform());
        if (p.Depth != 0)
            throw Fail(path, $"pattern {Excerpt.Quote(pattern)} is invalid: unbalanced parentheses");
        return AddRule(name, "\"\\\"\" (" + rule + ") \"\\\"\"");
    }

    /// <summary>Length of a GBNF escape at <paramref name="pos"/> of <paramref name="s"/> (llama.cpp's <c>gbnf_escape_length</c>); 0 if none.</summary>
    private static int GbnfEscapeLength(string s, int pos)
    {
        if (pos + 1 >= s.Length || s[pos] != '\\')
            return 0;
        int hex = s[pos + 1] switch { 'x' => 2, 'u' => 4, 'U' => 8, 't' or 'r' or 'n' or '\\' or '"' or '[' or ']' or '-' => -1, _ => 0 };
        if (hex <= 0)
            return hex < 0 ? 2 : 0;
        if (pos + 2 + hex > s.Length)
            return 0;
        for (int i = pos + 2; i < pos + 2 + hex; i++)
            if (!char.IsAsciiHexDigit(s[i]))
                return 0;
        return 2 + hex;
    }

    private sealed class PatternReader(JsonSchemaConverter c, string sub, string name, string pattern, string path)
    {
        private readonly Dictionary<string, string> _subRuleIds = new(StringComparer.Ordinal);
        private int _i;

        public int Depth { get; private set; }

        public string ToRule((string Text, bool IsLiteral) x) => x.IsLiteral ? "\"" + x.Text + "\"" : x.Text;

        private GrammarException Unsupported(string why) => Fail(path, $"pattern {Excerpt.Quote(pattern)} is not supported ({why})");

        private GrammarException Invalid(string why) => Fail(path, $"pattern {Excerpt.Quote(pattern)} is invalid: {why}");

        public (string Text, bool IsLiteral) Transform()
        {
            var seq = new List<(string Text, bool IsLiteral)>();
            while (_i < sub.Length)
            {
                char ch = sub[_i];
                if (ch == '.')
                {
                    seq.Add((c.AddRule("dot", "[^\\x0A\\x0D]"), false));
                    _i++;
                }
                else if (ch == '(')
                {
                    _i++;
                    if (_i < sub.Length && sub[_i] == '?')
                    {
                        if (_i + 1 < sub.Length && sub[_i + 1] == ':')
                            _i += 2;
                        else
                            throw Unsupported("lookaround, named groups and inline flags are not");
                    }
                    if (++Depth > MaxPatternDepth)
                        throw Unsupported("groups nest too deep");
                    seq.Add(("(" + ToRule(Transform()) + ")", false));
                }
                else if (ch == ')')
                {
                    _i++;
                    if (Depth == 0)
                        throw Invalid("unbalanced parentheses");
                    Depth--;
                    return Join(seq);
                }
                else if (ch is '^' or '$')
                {
                    throw Unsupported("an anchor inside the pattern");
                }
                else if (ch == '[')
                {
                    var b = new StringBuilder("[");
                    _i++;
                    while (_i < sub.Length && sub[_i] != ']')
                    {
                        if (sub[_i] == '\\')
                        {
                            int len = GbnfEscapeLength(sub, _i);
                            if (len == 0)
                                throw Unsupported($"the escape {Excerpt.Quote(sub.Substring(_i, Math.Min(2, sub.Length - _i)))} in a character class");
                            b.Append(sub, _i, len);
                            _i += len;
                        }
                        else
                        {
                            b.Append(sub[_i++]);
                        }
                    }
                    if (_i >= sub.Length)
                        throw Invalid("unterminated character class");
                    _i++;
                    seq.Add((b.Append(']').ToString(), false));
                }
                else if (ch == '|')
                {
                    seq.Add(("|", false));
                    _i++;
                }
                else if (ch is '*' or '+' or '?')
                {
                    if (seq.Count == 0)
                        throw Invalid("nothing to repeat");
                    seq[^1] = (ToRule(seq[^1]) + ch, false);
                    _i++;
                }
                else if (ch == '{')
                {
                    int close = sub.IndexOf('}', _i);
                    if (close < 0)
                        throw Unsupported("unterminated curly brackets");
                    string[] nums = sub[(_i + 1)..close].Split(',');
                    _i = close + 1;
                    int min = 0, max = int.MaxValue;
                    if (nums.Length is not (1 or 2))
                        throw Unsupported("wrong number of values in curly brackets");
                    if (!(nums.Length == 1 ? int.TryParse(nums[0], NumberStyles.None, CultureInfo.InvariantCulture, out min) && (max = min) >= 0
                        : (nums[0].Length == 0 || int.TryParse(nums[0], NumberStyles.None, CultureInfo.InvariantCulture, out min))
                            && (nums[1].Length == 0 || int.TryParse(nums[1], NumberStyles.None, CultureInfo.InvariantCulture, out max))))
                        throw Unsupported("an invalid number in curly brackets");
                    if (seq.Count == 0)
                        throw Invalid("nothing to repeat");
                    if (max < min)
                        throw Invalid($"{{{min},{max}}}: the maximum is below the minimum");
                    var (text, isLiteral) = seq[^1];
                    if (!isLiteral)
                    {
                        if (!_subRuleIds.TryGetValue(text, out string? id))
                            _subRuleIds[text] = id = c.AddRule(name + "-" + (_subRuleIds.Count + 1).ToString(CultureInfo.InvariantCulture), text);
                        text = id;
                    }
                    seq[^1] = (Repetition(isLiteral ? "\"" + text + "\"" : text, min, max), false);
                }
                else
                {
                    seq.Add((ReadLiteral(ch), true));
                }
            }
            return Join(seq);
        }

        /// <summary>A run of literal characters, escapes turned into GBNF's (llama.cpp's literal branch).</summary>
        private string ReadLiteral(char first)
        {
            var literal = new StringBuilder();
            while (_i < sub.Length)
            {
                if (sub[_i] == '\\')
                {
                    if (_i == sub.Length - 1)
                        throw Invalid("a trailing backslash");
                    char next = sub[_i + 1];
                    if (EscapedInRegexpsButNotInLiterals.Contains(next))
                    {
                        literal.Append(next);
                        _i += 2;
                    }
                    else
                    {
                        int len = GbnfEscapeLength(sub, _i);
                        if (len == 0)
                            throw Unsupported($"the escape {Excerpt.Quote(sub.Substring(_i, 2))}");
                        literal.Append(sub, _i, len);
                        _i += len;
                    }
                }
                else if (sub[_i] == '"')
                {
                    literal.Append("\\\"");
                    _i++;
                }
                else if (!NonLiteral.Contains(sub[_i])
                    && (_i == sub.Length - 1 || literal.Length == 0 || sub[_i + 1] == '.' || !NonLiteral.Contains(sub[_i + 1])))
                {
                    literal.Append(sub[_i++]);
                }
                else
                {
                    break;
                }
            }
            if (literal.Length == 0)
                throw Unsupported($"the character {Excerpt.Quote(first.ToString())} there");
            return literal.ToString();
        }

        /// <summary>The sequence joined by spaces, consecutive literals merged.</summary>
        private (string, bool) Join(List<(string Text, bool IsLiteral)> seq)
        {
            var parts = new List<string>();
            var literal = new StringBuilder();
            foreach (var item in seq)
            {
                if (item.IsLiteral)
                {
                    literal.Append(item.Text);
                    continue;
                }
                if (literal.Length > 0)
                {
                    parts.Add("\"" + literal + "\"");
                    literal.Clear();
                }
                parts.Add(item.Text);
            }
            if (literal.Length > 0)
                parts.Add("\"" + literal + "\"");
            return (string.Join(" ", parts), false);
        }
    }
}
