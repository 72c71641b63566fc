namespace LlamaAot.Files;

/// <summary>An output file cannot be written: the message names the path and why ("cannot write PATH: ...").</summary>
public sealed class OutputFileException(string message) : IOException(message);
