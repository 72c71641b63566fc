namespace LlamaAot.Gguf;

/// <summary>
/// One entry of the tensor table. <see cref="Shape"/> is in ggml order: <c>Shape[0]</c> is the row length (the
/// contiguous dimension), <c>Shape[1]</c> the number of rows, and so on.
/// </summary>
/// <param name="Name">Tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Shape">Dimensions, innermost first (ggml's <c>ne</c>).</param>
/// <param name="Type">Element type.</param>
/// <param name="Offset">Offset of the data from the start of the data section.</param>
/// <param name="FileOffset">Absolute offset of the data in the file.</param>
/// <param name="ByteSize">Bytes of data.</param>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type, long Offset, long FileOffset, long ByteSize)
{
    /// <summary>Number of values.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Row length (values per row).</summary>
    public long Columns => Shape[0];

    /// <summary>Number of rows: the product of every dimension but the first.</summary>
    public long Rows => ElementCount / Shape[0];

    public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
}
