using System.Globalization;
using System.Text;

namespace LlamaAot.Chat.Jinja;

internal enum TokenKind { Data, VariableBegin, VariableEnd, BlockBegin, BlockEnd, Name, String, Integer, Float, Operator, End }

/// <summary>One token; <see cref="Offset"/> indexes the normalized source (for line and column).</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Offset, object? Value = null);

/// <summary>
/// Splits a template into data and tag tokens as jinja2's lexer does with transformers' settings: newlines
/// normalized (Python's <c>splitlines</c>, which also drops one trailing newline: keep_trailing_newline is off),
/// <c>-</c> strips the whitespace beside a tag, <c>trim_blocks</c> drops the newline after a block or comment tag,
/// <c>lstrip_blocks</c> drops the spaces and tabs before one that starts its line (<c>+</c> keeps them), and inside
/// a tag its end is only recognized where brackets balance (<c>{{ {'a': 1}}}</c>).
/// </summary>
internal sealed class Lexer
{
    private readonly string _s;
    private readonly List<Token> _tokens = [];
    private readonly int[] _lineStarts;
    private int _pos;
    private bool _lineStarting = true;

    private Lexer(string source)
    {
        _s = NormalizeNewlines(source);
        var starts = new List<int> { 0 };
        for (int i = 0; i < _s.Length; i++)
        {
            if (_s[i] == '\n')
                starts.Add(i + 1);
        }
        _lineStarts = [.. starts];
    }

    public static (List<Token> Tokens, Func<int, (int Line, int Column)> Position) Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return (lexer._tokens, lexer.Position);
    }

    public (int Line, int Column) Position(int offset)
    {
        int i = Array.BinarySearch(_lineStarts, offset);
        if (i < 0)
            i = ~i - 1;
        return (i + 1, offset - _lineStarts[i] + 1);
    }

    /// <summary>Python's <c>"\n".join(source.splitlines())</c>.</summary>
    internal static string NormalizeNewlines(string s)
    {
        var b = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n')
                continue;
            b.Append(Strings.IsLineBreak(c) ? '\n' : c);
        }
        if (b.Length > 0 && b[^1] == '\n')
            b.Length--;
        return b.ToString();
    }

    private JinjaException Error(string message, int offset)
    {
        var (line, column) = Position(offset);
        return JinjaException.Syntax(message, line, column);
    }

    private void Run()
    {
        while (_pos < _s.Length)
        {
            int tag = FindTag(_pos);
            int dataEnd = tag < 0 ? _s.Length : tag;
            string data = _s[_pos..dataEnd];
            if (tag < 0)
            {
                AddData(data, _pos);
                _pos = _s.Length;
                break;
            }
            char kind = _s[tag + 1];
            char modifier = tag + 2 < _s.Length ? _s[tag + 2] : '\0';
            if (modifier == '-')
                data = data.TrimEnd(Strings.WhitespaceChars);
            else if (kind != '{' && modifier != '+')
            {
                // lstrip_blocks: only whitespace between the start of the line and the tag.
                int lineStart = data.LastIndexOf('\n') + 1;
                if ((lineStart > 0 || _lineStarting) && data.AsSpan(lineStart).IndexOfAnyExcept(' ', '\t') < 0)
                    data = data[..lineStart];
            }
            AddData(data, _pos);
            int inner = tag + 2 + (modifier is '-' or '+' ? 1 : 0);
            if (kind == '#')
                Comment(tag, inner);
            else if (kind == '%' && IsRaw(inner, out int rawBody))
                Raw(tag, rawBody);
            else
                Tag(kind == '{', tag, inner);
        }
        _tokens.Add(new Token(TokenKind.End, "", _s.Length));
    }

    private void AddData(string data, int offset)
    {
        if (data.Length > 0)
            _tokens.Add(new Token(TokenKind.Data, data, offset));
    }

    private int FindTag(int from)
    {
        for (int i = _s.IndexOf('{', from); i >= 0 && i + 1 < _s.Length; i = _s.IndexOf('{', i + 1))
        {
            if (_s[i + 1] is '{' or '%' or '#')
                return i;
        }
        return -1;
    }

    /// <summary>After a tag's end: <c>-</c> eats all whitespace, trim_blocks one newline (block and comment tags).</summary>
    private void AfterEnd(int end, bool minus, bool trim)
    {
        _pos = end;
        if (minus)
        {
            while (_pos < _s.Length && Strings.IsWhitespace(_s[_pos]))
                _pos++;
        }
        else if (trim && _pos < _s.Length && _s[_pos] == '\n')
            _pos++;
        _lineStarting = _pos > 0 && _s[_pos - 1] == '\n';
    }

    private void Comment(int tag, int inner)
    {
        int close = _s.IndexOf("#}", inner, StringComparison.Ordinal);
        if (close < 0)
            throw Error("missing end of comment tag", tag);
        AfterEnd(close + 2, close > inner && _s[close - 1] == '-', trim: true);
    }

    /// <summary>
    /// Whether the block tag whose inside starts at <paramref name="i"/> is <c>word [-]%}</c>; <paramref name="end"/>
    /// is then the index after <c>%}</c>.
    /// </summary>
    private bool IsWordTag(int i, string word, out int end, out bool minus)
    {
        end = 0;
        minus = false;
        while (i < _s.Length && Strings.IsWhitespace(_s[i]))
            i++;
        if (string.CompareOrdinal(_s, i, word, 0, word.Length) != 0)
            return false;
        i += word.Length;
        while (i < _s.Length && Strings.IsWhitespace(_s[i]))
            i++;
        minus = i < _s.Length && _s[i] == '-';
        if (minus)
            i++;
        end = i + 2;
        return string.CompareOrdinal(_s, i, "%}", 0, 2) == 0;
    }

    private bool IsRaw(int inner, out int body)
    {
        body = 0;
        if (!IsWordTag(inner, "raw", out int end, out bool minus))
            return false;
        AfterEnd(end, minus, trim: true);
        body = _pos;
        return true;
    }

    /// <summary><c>{% raw %}...{% endraw %}</c>: the body is data, whitespace control of endraw applied.</summary>
    private void Raw(int tag, int body)
    {
        for (int at = FindTag(body); at >= 0; at = FindTag(at + 1))
        {
            if (_s[at + 1] != '%')
                continue;
            char modifier = at + 2 < _s.Length ? _s[at + 2] : '\0';
            if (!IsWordTag(at + 2 + (modifier is '-' or '+' ? 1 : 0), "endraw", out int end, out bool minus))
                continue;
            string data = _s[body..at];
            if (modifier == '-')
                data = data.TrimEnd(Strings.WhitespaceChars);
            else if (modifier != '+')
            {
                int lineStart = data.LastIndexOf('\n') + 1;
                if (lineStart > 0 && data.AsSpan(lineStart).IndexOfAnyExcept(' ', '\t') < 0)
                    data = data[..lineStart];
            }
            AddData(data, body);
            AfterEnd(end, minus, trim: true);
            return;
        }
        throw Error("missing end of raw directive", tag);
    }

    private void Tag(bool variable, int tag, int inner)
    {
        _tokens.Add(new Token(variable ? TokenKind.VariableBegin : TokenKind.BlockBegin, _s[tag..inner], tag));
        string end = variable ? "}}" : "%}";
        var balance = new Stack<char>();
        int i = inner;
        while (true)
        {
            while (i < _s.Length && Strings.IsWhitespace(_s[i]))
                i++;
            if (i >= _s.Length)
                throw Error($"unexpected end of template, expected the end of the {(variable ? "print" : "block")} tag", tag);
            if (balance.Count == 0)
            {
                bool minus = _s[i] == '-' && string.CompareOrdinal(_s, i + 1, end, 0, 2) == 0;
                if (minus || string.CompareOrdinal(_s, i, end, 0, 2) == 0)
                {
                    int close = i + (minus ? 3 : 2);
                    _tokens.Add(new Token(variable ? TokenKind.VariableEnd : TokenKind.BlockEnd, _s[i..close], i));
                    AfterEnd(close, minus, trim: !variable);
                    return;
                }
            }
            char c = _s[i];
            if (char.IsAsciiLetter(c) || c == '_' || (c > 127 && char.IsLetter(c)))
            {
                int start = i;
                while (i < _s.Length && (char.IsAsciiLetterOrDigit(_s[i]) || _s[i] == '_' || (_s[i] > 127 && char.IsLetterOrDigit(_s[i]))))
                    i++;
                _tokens.Add(new Token(TokenKind.Name, _s[start..i], start));
            }
            else if (char.IsAsciiDigit(c))
                i = Number(i);
            else if (c is '"' or '\'')
                i = StringLiteral(i);
            else
                i = Operator(i, balance);
        }
    }

    private int Number(int start)
    {
        int i = start;
        while (i < _s.Length && (char.IsAsciiDigit(_s[i]) || (_s[i] == '_' && i + 1 < _s.Length && char.IsAsciiDigit(_s[i + 1]))))
            i++;
        bool isFloat = false;
        if (i + 1 < _s.Length && _s[i] == '.' && char.IsAsciiDigit(_s[i + 1]))
        {
            isFloat = true;
            i++;
            while (i < _s.Length && (char.IsAsciiDigit(_s[i]) || _s[i] == '_'))
                i++;
        }
        if (i < _s.Length && _s[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < _s.Length && _s[j] is '+' or '-')
                j++;
            if (j < _s.Length && char.IsAsciiDigit(_s[j]))
            {
                isFloat = true;
                i = j;
                while (i < _s.Length && char.IsAsciiDigit(_s[i]))
                    i++;
            }
        }
        string text = _s[start..i].Replace("_", "", StringComparison.Ordinal);
        if (isFloat)
            _tokens.Add(new Token(TokenKind.Float, text, start, double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)));
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v))
            _tokens.Add(new Token(TokenKind.Integer, text, start, v));
        else
            throw Error($"integer literal too large: {Diagnostics.Excerpt.Quote(text)}", start);
        return i;
    }

    private int StringLiteral(int start)
    {
        char quote = _s[start];
        var b = new StringBuilder();
        int i = start + 1;
        while (true)
        {
            if (i >= _s.Length)
                throw Error("unterminated string literal", start);
            char c = _s[i++];
            if (c == quote)
                break;
            if (c != '\\')
            {
                b.Append(c);
                continue;
            }
            if (i >= _s.Length)
                throw Error("unterminated string literal", start);
            i = Escape(b, i, start);
        }
        _tokens.Add(new Token(TokenKind.String, _s[start..i], start, b.ToString()));
        return i;
    }

    /// <summary>One escape after a backslash, as Python's unicode-escape decodes it; unknown ones stay as written.</summary>
    private int Escape(StringBuilder b, int i, int literal)
    {
        char e = _s[i++];
        switch (e)
        {
            case 'n': b.Append('\n'); return i;
            case 't': b.Append('\t'); return i;
            case 'r': b.Append('\r'); return i;
            case '\\': b.Append('\\'); return i;
            case '\'': b.Append('\''); return i;
            case '"': b.Append('"'); return i;
            case 'a': b.Append('\a'); return i;
            case 'b': b.Append('\b'); return i;
            case 'f': b.Append('\f'); return i;
            case 'v': b.Append('\v'); return i;
            case '\n': return i;
            case 'x': return Hex(b, i, 2, literal);
            case 'u': return Hex(b, i, 4, literal);
            case 'U': return Hex(b, i, 8, literal);
        }
        if (e is >= '0' and <= '7')
        {
            int v = e - '0', n = 1;
            while (n < 3 && i < _s.Length && _s[i] is >= '0' and <= '7')
            {
                v = v * 8 + (_s[i++] - '0');
                n++;
            }
            b.Append((char)v);
            return i;
        }
        b.Append('\\').Append(e);
        return i;
    }

    private int Hex(StringBuilder b, int i, int digits, int literal)
    {
        if (i + digits > _s.Length || !int.TryParse(_s.AsSpan(i, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int v)
            || v > 0x10FFFF || _s.AsSpan(i, digits).ContainsAny('+', '-'))
            throw Error($"truncated \\{_s[i - 1]} escape in a string literal", literal);
        if (v >= 0x10000)
            b.Append(char.ConvertFromUtf32(v));
        else
            b.Append((char)v);
        return i + digits;
    }

    private static readonly string[] TwoCharOperators = ["//", "**", "==", "!=", "<=", ">="];

    private int Operator(int i, Stack<char> balance)
    {
        foreach (string op in TwoCharOperators)
        {
            if (string.CompareOrdinal(_s, i, op, 0, 2) == 0)
            {
                _tokens.Add(new Token(TokenKind.Operator, op, i));
                return i + 2;
            }
        }
        char c = _s[i];
        if ("+-*/%~<>=()[]{},.:|;".IndexOf(c) < 0)
            throw Error($"unexpected character {Diagnostics.Excerpt.Quote(c.ToString())}", i);
        switch (c)
        {
            case '(': balance.Push(')'); break;
            case '[': balance.Push(']'); break;
            case '{': balance.Push('}'); break;
            case ')' or ']' or '}':
                if (balance.Count == 0 || balance.Pop() != c)
                    throw Error($"unexpected '{c}'", i);
                break;
        }
        _tokens.Add(new Token(TokenKind.Operator, c.ToString(), i));
        return i + 1;
    }
}
