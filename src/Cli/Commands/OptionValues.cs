using System.CommandLine.Parsing;
using System.Globalization;
using LlamaAot.Diagnostics;

namespace LlamaAot.Cli.Commands;

/// <summary>
/// Parsers that check an option's value as the command line is read: a value of the wrong type, out of range or too
/// large for its type becomes a parse error naming the option as typed and what it accepts (exit 2), never an
/// exception later. The ranges are llama.cpp 0.5.0's (common/arg.cpp) wherever it has the option.
/// </summary>
internal static class OptionValues
{
    /// <summary>Most threads llama.cpp runs (GGML_MAX_N_THREADS).</summary>
    public const int MaxThreads = 512;

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>]; <paramref name="accepts"/> says so in words.</summary>
    public static Func<ArgumentResult, int> Int(int min, int max, string accepts) => r =>
        long.TryParse(Token(r), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
            ? (int)v
            : Fail<int>(r, accepts);

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>], as a long.</summary>
    public static Func<ArgumentResult, long> Long(long min, long max, string accepts) => r =>
        long.TryParse(Token(r), NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max
            ? v
            : Fail<long>(r, accepts);

    /// <summary>A finite number that <paramref name="valid"/> accepts (1e39 overflows to infinity: refused too).</summary>
    public static Func<ArgumentResult, float> Float(Func<float, bool> valid, string accepts) => r =>
        float.TryParse(Token(r), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) && valid(v)
            ? v
            : Fail<float>(r, accepts);

    /// <summary>Any finite number.</summary>
    public static Func<ArgumentResult, float> Float(string accepts) => Float(_ => true, accepts);

    /// <summary>A local date and time, ISO 8601 without a zone: <c>2026-07-26T10:00:00</c> (seconds and time optional).</summary>
    public static DateTime DateTimeValue(ArgumentResult r) =>
        DateTime.TryParseExact(Token(r), ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"], CultureInfo.InvariantCulture,
            DateTimeStyles.None, out var t)
            ? t
            : Fail<DateTime>(r, "a date and time as 2026-07-26T10:00:00");

    /// <summary>One of <paramref name="values"/>, exactly as written.</summary>
    public static Func<ArgumentResult, string> OneOf(params string[] values) => r =>
        values.Contains(Token(r)) ? Token(r) : Fail<string>(r, Words(values));

    /// <summary>
    /// A comma-separated list of whole numbers in [<paramref name="min"/>, <paramref name="max"/>] (llama-bench's
    /// <c>-p 128,512</c>).
    /// </summary>
    public static Func<ArgumentResult, int[]> IntList(int min, int max, string accepts) => r =>
    {
        var values = new List<int>();
        foreach (string part in Token(r).Split(','))
        {
            if (!long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v < min || v > max)
                return Fail<int[]>(r, $"a comma-separated list of {accepts}");
            values.Add((int)v);
        }
        return [.. values];
    };

    /// <summary>
    /// On, off or auto in llama.cpp's spellings (<c>is_truthy</c>, <c>is_falsey</c>, <c>is_autoy</c>); the option alone
    /// means on. Auto is llama-aot's default, off.
    /// </summary>
    public static OnOff OnOffAuto(ArgumentResult r) => r.Tokens.Count == 0 ? OnOff.On : Token(r) switch
    {
        "on" or "enabled" or "true" or "1" => OnOff.On,
        "off" or "disabled" or "false" or "0" or "auto" or "-1" => OnOff.Off,
        _ => Fail<OnOff>(r, "on, off or auto (alone: on)"),
    };

    /// <summary>Lists values for a message: "a, b or c".</summary>
    public static string Words(IReadOnlyList<string> values) =>
        values.Count == 1 ? values[0] : $"{string.Join(", ", values.Take(values.Count - 1))} or {values[^1]}";

    private static string Token(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    private static T Fail<T>(ArgumentResult r, string accepts)
    {
        string option = (r.Parent as OptionResult)?.IdentifierToken?.Value ?? r.Argument.Name;
        r.AddError($"{option} takes {accepts}, not {Excerpt.Quote(Token(r))}");
        return default!;
    }
}

/// <summary>
/// The value of an on/off/auto option. Not a bool: System.CommandLine gives a bool option the next word only when
/// it reads as a bool, and "on" would be left over.
/// </summary>
internal enum OnOff
{
    Off,
    On,
}
