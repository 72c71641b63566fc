using System.Globalization;
using System.Text;

namespace LlamaAot.Cli;

/// <summary>
/// Standard error carries load information and timings; standard output only the prompt and the generated text,
/// written as UTF-8 and flushed piece by piece.
/// </summary>
internal static class Log
{
    public static void Info(string message) => Console.Error.WriteLine($"llama-aot: {message}");

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):F2} MiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F2} KiB"),
    };

    public static string Count(long n) => n switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e9:F2} B"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e6:F2} M"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{n / 1e3:F2} K"),
        _ => n.ToString(CultureInfo.InvariantCulture),
    };

    public static string F(double value, int digits = 2) => value.ToString("F" + digits, CultureInfo.InvariantCulture);

    /// <summary>Standard output as unbuffered-by-piece UTF-8 (no BOM), whatever the console's encoding.</summary>
    public static StreamWriter OpenStandardOutput() => new(StandardStreams.OpenOutput(), new UTF8Encoding(false)) { AutoFlush = false };
}
