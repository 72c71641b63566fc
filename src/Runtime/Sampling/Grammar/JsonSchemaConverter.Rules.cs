using System.Globalization;
using System.Text;

namespace LlamaAot.Sampling;

/// <summary>The fixed rules and the text-building helpers of the JSON schema converter (llama.cpp's, rule for rule).</summary>
internal sealed partial class JsonSchemaConverter
{
    // llama.cpp's SPACE_RULE: whitespace between JSON tokens, bounded so a model cannot pad forever.
    private const string SpaceRule = "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}";

    private static readonly Dictionary<string, (string Content, string[] Deps)> PrimitiveRules = new(StringComparer.Ordinal)
    {
        ["boolean"] = ("(\"true\" | \"false\")", []),
        ["decimal-part"] = ("[0-9]{1,16}", []),
        ["integral-part"] = ("[0] | [1-9] [0-9]{0,15}", []),
        ["number"] = ("(\"-\"? integral-part) (\".\" decimal-part)? ([eE] [-+]? integral-part)?", ["integral-part", "decimal-part"]),
        ["integer"] = ("(\"-\"? integral-part)", ["integral-part"]),
        ["value"] = ("object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]),
        ["object"] = ("\"{\" space ( string \":\" space value (\",\" space string \":\" space value)* )? space \"}\"", ["string", "value"]),
        ["array"] = ("\"[\" space ( value (\",\" space value)* )? space \"]\"", ["value"]),
        ["uuid"] = ("\"\\\"\" [0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12} \"\\\"\"", []),
        ["char"] = ("[^\"\\\\\\x7F\\x00-\\x1F] | [\\\\] ([\"\\\\bfnrt] | \"u\" [0-9a-fA-F]{4})", []),
        ["string"] = ("\"\\\"\" char* \"\\\"\"", ["char"]),
        ["null"] = ("\"null\"", []),
        // The string formats (llama.cpp's STRING_FORMAT_RULES).
        ["date"] = ("[0-9]{4} \"-\" ( \"0\" [1-9] | \"1\" [0-2] ) \"-\" ( \"0\" [1-9] | [1-2] [0-9] | \"3\" [0-1] )", []),
        ["time"] = ("([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] ( \".\" [0-9]{3} )? ( \"Z\" | ( \"+\" | \"-\" ) ( [01] [0-9] | \"2\" [0-3] ) \":\" [0-5] [0-9] )", []),
        ["date-time"] = ("date \"T\" time", ["date", "time"]),
        ["date-string"] = ("\"\\\"\" date \"\\\"\"", ["date"]),
        ["time-string"] = ("\"\\\"\" time \"\\\"\"", ["time"]),
        ["date-time-string"] = ("\"\\\"\" date-time \"\\\"\"", ["date-time"]),
    };

    private static bool IsReservedName(string name) => name == "root" || PrimitiveRules.ContainsKey(name);

    /// <summary>A GBNF string literal of <paramref name="text"/> (llama.cpp's <c>format_literal</c>).</summary>
    private static string Literal(string text)
    {
        var b = new StringBuilder(text.Length + 2).Append('"');
        foreach (char c in text)
        {
            b.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '"' => "\\\"",
                '\\' => "\\\\",
                _ => c.ToString(),
            });
        }
        return b.Append('"').ToString();
    }

    /// <summary>
    /// <paramref name="item"/> repeated from <paramref name="min"/> to <paramref name="max"/> times (int.MaxValue: no
    /// maximum), with <paramref name="separator"/> between (llama.cpp's <c>build_repetition</c>).
    /// </summary>
    private static string Repetition(string item, int min, int max, string separator = "")
    {
        bool hasMax = max != int.MaxValue;
        if (max == 0)
            return "";
        if (min == 0 && max == 1)
            return item + "?";
        if (separator.Length == 0)
        {
            if (min == 1 && !hasMax)
                return item + "+";
            if (min == 0 && !hasMax)
                return item + "*";
            return $"{item}{{{min},{(hasMax ? max.ToString(CultureInfo.InvariantCulture) : "")}}}";
        }
        string result = item + " " + Repetition($"({separator} {item})", min == 0 ? 0 : min - 1, hasMax ? max - 1 : max);
        return min == 0 ? $"({result})?" : result;
    }

    /// <summary>
    /// The decimal integers from <paramref name="min"/> to <paramref name="max"/> (long.MinValue / long.MaxValue: no
    /// bound), without leading zeros, as alternatives of digit ranges (llama.cpp's <c>build_min_max_int</c>).
    /// </summary>
    private static void MinMaxInt(long min, long max, StringBuilder o, int decimalsLeft = 16, bool topLevel = true)
    {
        bool hasMin = min != long.MinValue, hasMax = max != long.MaxValue;

        void DigitRange(char from, char to)
        {
            o.Append('[').Append(from);
            if (from != to)
                o.Append('-').Append(to);
            o.Append(']');
        }

        void MoreDigits(int minDigits, int maxDigits)
        {
            o.Append("[0-9]");
            if (minDigits == maxDigits && minDigits == 1)
                return;
            o.Append('{').Append(minDigits);
            if (maxDigits != minDigits)
            {
                o.Append(',');
                if (maxDigits != int.MaxValue)
                    o.Append(maxDigits);
            }
            o.Append('}');
        }

        void UniformRange(string from, string to)
        {
            int i = 0;
            while (i < from.Length && i < to.Length && from[i] == to[i])
                i++;
            if (i > 0)
                o.Append('"').Append(from, 0, i).Append('"');
            if (i >= from.Length || i >= to.Length)
                return;
            if (i > 0)
                o.Append(' ');
            int subLen = from.Length - i - 1;
            if (subLen == 0)
            {
                o.Append('[').Append(from[i]).Append('-').Append(to[i]).Append(']');
                return;
            }
            string fromSub = from[(i + 1)..], toSub = to[(i + 1)..];
            string zeros = new('0', subLen), nines = new('9', subLen);
            bool toReached = false;
            o.Append('(');
            if (fromSub == zeros)
            {
                DigitRange(from[i], (char)(to[i] - 1));
                o.Append(' ');
                MoreDigits(subLen, subLen);
            }
            else
            {
                o.Append('[').Append(from[i]).Append("] (");
                UniformRange(fromSub, nines);
                o.Append(')');
                if (from[i] < to[i] - 1)
                {
                    o.Append(" | ");
                    if (toSub == nines)
                    {
                        DigitRange((char)(from[i] + 1), to[i]);
                        toReached = true;
                    }
                    else
                    {
                        DigitRange((char)(from[i] + 1), (char)(to[i] - 1));
                    }
                    o.Append(' ');
                    MoreDigits(subLen, subLen);
                }
            }
            if (!toReached)
            {
                o.Append(" | ");
                DigitRange(to[i], to[i]);
                o.Append(' ');
                UniformRange(zeros, toSub);
            }
            o.Append(')');
        }

        static string Digits(long v) => v.ToString(CultureInfo.InvariantCulture);

        if (hasMin && hasMax)
        {
            if (min < 0 && max < 0)
            {
                o.Append("\"-\" (");
                MinMaxInt(-max, -min, o, decimalsLeft, topLevel: true);
                o.Append(')');
                return;
            }
            if (min < 0)
            {
                o.Append("\"-\" (");
                MinMaxInt(0, -min, o, decimalsLeft, topLevel: true);
                o.Append(") | ");
                min = 0;
            }
            string minS = Digits(min), maxS = Digits(max);
            for (int digits = minS.Length; digits < maxS.Length; digits++)
            {
                UniformRange(minS, new string('9', digits));
                minS = "1" + new string('0', digits);
                o.Append(" | ");
            }
            UniformRange(minS, maxS);
            return;
        }

        int lessDecimals = Math.Max(decimalsLeft - 1, 1);
        if (hasMin)
        {
            if (min < 0)
            {
                o.Append("\"-\" (");
                MinMaxInt(long.MinValue, -min, o, decimalsLeft, topLevel: false);
                o.Append(") | [0] | [1-9] ");
                MoreDigits(0, decimalsLeft - 1);
            }
            else if (min == 0)
            {
                if (topLevel)
                {
                    o.Append("[0] | [1-9] ");
                    MoreDigits(0, lessDecimals);
                }
                else
                {
                    MoreDigits(1, decimalsLeft);
                }
            }
            else if (min <= 9)
            {
                char c = (char)('0' + min), rangeStart = topLevel ? '1' : '0';
                if (c > rangeStart)
                {
                    DigitRange(rangeStart, (char)(c - 1));
                    o.Append(' ');
                    MoreDigits(1, lessDecimals);
                    o.Append(" | ");
                }
                DigitRange(c, '9');
                o.Append(' ');
                MoreDigits(0, lessDecimals);
            }
            else
            {
                string minS = Digits(min);
                int len = minS.Length;
                char c = minS[0];
                if (c > '1')
                {
                    DigitRange(topLevel ? '1' : '0', (char)(c - 1));
                    o.Append(' ');
                    MoreDigits(len, lessDecimals);
                    o.Append(" | ");
                }
                DigitRange(c, c);
                o.Append(" (");
                MinMaxInt(long.Parse(minS[1..], CultureInfo.InvariantCulture), long.MaxValue, o, lessDecimals, topLevel: false);
                o.Append(')');
                if (c < '9')
                {
                    o.Append(" | ");
                    DigitRange((char)(c + 1), '9');
                    o.Append(' ');
                    MoreDigits(len - 1, lessDecimals);
                }
            }
            return;
        }

        if (max >= 0)
        {
            if (topLevel)
            {
                o.Append("\"-\" [1-9] ");
                MoreDigits(0, lessDecimals);
                o.Append(" | ");
            }
            MinMaxInt(0, max, o, decimalsLeft, topLevel: true);
        }
        else
        {
            // The digits after '-' start a number: top level, so no leading zero. (llama.cpp passes false here, which
            // lets "-0003" through for a maximum of -3: not JSON.)
            o.Append("\"-\" (");
            MinMaxInt(-max, long.MaxValue, o, decimalsLeft, topLevel: true);
            o.Append(')');
        }
    }
}
