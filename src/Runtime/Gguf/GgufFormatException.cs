namespace LlamaAot.Gguf;

/// <summary>
/// A GGUF file is malformed or uses something this build cannot read. The message names the problem and where it
/// is (byte offset, key or tensor), so a user can tell a truncated download from an unsupported model.
/// </summary>
public sealed class GgufFormatException(string message) : Exception(message);
