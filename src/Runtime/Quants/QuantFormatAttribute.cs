using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>
/// Marks a block struct as the storage of a ggml wire type. Read by the kernel generator, which derives kernel
/// names and the registry from it.
/// </summary>
[AttributeUsage(AttributeTargets.Struct, Inherited = false)]
public sealed class QuantFormatAttribute(GgmlType type) : Attribute
{
    public GgmlType Type { get; } = type;
}
