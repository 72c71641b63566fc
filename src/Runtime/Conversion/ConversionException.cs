namespace LlamaAot.Conversion;

/// <summary>
/// A source model that cannot be converted: malformed, truncated, inconsistent, or a variant the converter does not
/// handle. The message names the file and the problem in one line.
/// </summary>
public sealed class ConversionException(string message) : Exception(message);
