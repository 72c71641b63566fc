using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// Escape sequences in the prompt, processed by default as llama.cpp 0.5.0 does (common's
/// <c>string_process_escapes</c>, applied to -p and -f alike): <c>\n \r \t \' \" \\</c> and <c>\xNN</c>; any other
/// backslash stays as written. <c>-e</c>/<c>--escape</c> turns it on, <c>--no-escape</c> off; the last one wins.
/// </summary>
internal sealed class PromptEscapes
{
    private readonly Option<bool> _escape = new("--escape", "-e") { Description = "Process escapes in the prompt (\\n, \\r, \\t, \\', \\\", \\\\, \\xNN): the default." };
    private readonly Option<bool> _noEscape = new("--no-escape") { Description = "Take the prompt's backslashes literally." };

    public IEnumerable<Option> Options => [_escape, _noEscape];

    /// <summary>The prompt with its escapes processed, unless --no-escape came last.</summary>
    public string Apply(ParseResult p, string prompt) => Enabled(p) ? Process(prompt) : prompt;

    /// <summary>The prompt's bytes with their escapes processed, unless --no-escape came last: <c>\xNN</c> gives
    /// that byte, UTF-8 or not.</summary>
    public byte[] Apply(ParseResult p, byte[] prompt) => Enabled(p) ? Process(prompt) : prompt;

    private bool Enabled(ParseResult p) => LastToken(p, _noEscape) <= LastToken(p, _escape);

    /// <summary>
    /// llama.cpp's rules on the prompt's UTF-8 bytes (see <see cref="Process(byte[])"/>); a byte sequence that is not
    /// UTF-8 afterwards becomes U+FFFD, as the tokenizer takes text.
    /// </summary>
    public static string Process(string prompt) =>
        prompt.Contains('\\') ? Encoding.UTF8.GetString(Process(Encoding.UTF8.GetBytes(prompt))) : prompt;

    /// <summary>llama.cpp's rules on bytes. <c>\xNN</c> takes exactly the next two characters as strtol reads them in
    /// base 16.</summary>
    public static byte[] Process(byte[] input)
    {
        if (Array.IndexOf(input, (byte)'\\') < 0)
            return input;
        var output = new List<byte>(input.Length);
        for (int i = 0; i < input.Length; i++)
        {
            if (input[i] != '\\' || i + 1 >= input.Length)
            {
                output.Add(input[i]);
                continue;
            }
            byte c = input[++i];
            byte? escaped = c switch
            {
                (byte)'n' => (byte)'\n',
                (byte)'r' => (byte)'\r',
                (byte)'t' => (byte)'\t',
                (byte)'\'' or (byte)'"' or (byte)'\\' => c,
                (byte)'x' when i + 2 < input.Length && HexByte(input[i + 1], input[i + 2]) is { } b => b,
                _ => null,
            };
            if (escaped is { } e)
            {
                output.Add(e);
                if (c == 'x')
                    i += 2;
            }
            else
            {
                output.Add((byte)'\\');
                output.Add(c);
            }
        }
        return output.ToArray();
    }

    // strtol(x, &end, 16) over the two characters, accepted only when it consumed both: two hex digits, or one after
    // a sign or a space (strtol skips leading white space and takes a sign), the value cast to char.
    private static byte? HexByte(byte a, byte b)
    {
        int hi = Hex(a), lo = Hex(b);
        if (hi >= 0 && lo >= 0)
            return (byte)(hi * 16 + lo);
        if (lo < 0)
            return null;
        return a switch
        {
            (byte)'+' or (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r' => (byte)lo,
            (byte)'-' => (byte)-lo,
            _ => null,
        };
    }

    private static int Hex(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    // Where the option last appears on the command line (-1: absent), so that the later of -e and --no-escape wins.
    private static int LastToken(ParseResult p, Option option)
    {
        int last = -1;
        for (int i = 0; i < p.Tokens.Count; i++)
        {
            var t = p.Tokens[i];
            if (t.Type == TokenType.Option && (t.Value == option.Name || option.Aliases.Contains(t.Value)))
                last = i;
        }
        return last;
    }
}
