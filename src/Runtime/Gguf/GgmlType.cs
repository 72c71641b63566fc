namespace LlamaAot.Gguf;

/// <summary>
/// Tensor element types as numbered on the wire by ggml (<c>enum ggml_type</c>). The numbers are part of the GGUF
/// format: never renumber them. Gaps are ids ggml has retired.
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// <summary>
/// The storage geometry of every wire type: how many values one block holds and how many bytes it takes. This is
/// what a reader needs to find tensor data, whether or not llama-aot can compute with the type; the computing
/// side (block structs in <c>Quants/</c>) asserts its sizes against this table.
/// </summary>
public static class GgmlTypes
{
    /// <summary>Values per block and bytes per block of one wire type (ggml's <c>blck_size</c>, <c>type_size</c>).</summary>
    public readonly record struct Geometry(int BlockSize, int BlockBytes);

    // From ggml's type_traits table (ggml.c). QK_K = 256.
    private static readonly Dictionary<GgmlType, Geometry> Table = new()
    {
        [GgmlType.F32] = new(1, 4),
        [GgmlType.F16] = new(1, 2),
        [GgmlType.Q4_0] = new(32, 18),
        [GgmlType.Q4_1] = new(32, 20),
        [GgmlType.Q5_0] = new(32, 22),
        [GgmlType.Q5_1] = new(32, 24),
        [GgmlType.Q8_0] = new(32, 34),
        [GgmlType.Q8_1] = new(32, 36),
        [GgmlType.Q2_K] = new(256, 84),
        [GgmlType.Q3_K] = new(256, 110),
        [GgmlType.Q4_K] = new(256, 144),
        [GgmlType.Q5_K] = new(256, 176),
        [GgmlType.Q6_K] = new(256, 210),
        [GgmlType.Q8_K] = new(256, 292),
        [GgmlType.IQ2_XXS] = new(256, 66),
        [GgmlType.IQ2_XS] = new(256, 74),
        [GgmlType.IQ3_XXS] = new(256, 98),
        [GgmlType.IQ1_S] = new(256, 50),
        [GgmlType.IQ4_NL] = new(32, 18),
        [GgmlType.IQ3_S] = new(256, 110),
        [GgmlType.IQ2_S] = new(256, 82),
        [GgmlType.IQ4_XS] = new(256, 136),
        [GgmlType.I8] = new(1, 1),
        [GgmlType.I16] = new(1, 2),
        [GgmlType.I32] = new(1, 4),
        [GgmlType.I64] = new(1, 8),
        [GgmlType.F64] = new(1, 8),
        [GgmlType.IQ1_M] = new(256, 56),
        [GgmlType.BF16] = new(1, 2),
        [GgmlType.TQ1_0] = new(256, 54),
        [GgmlType.TQ2_0] = new(256, 66),
        [GgmlType.MXFP4] = new(32, 17),
    };

    /// <summary>Whether <paramref name="id"/> is a type id this build knows the layout of.</summary>
    public static bool IsKnown(uint id) => Table.ContainsKey((GgmlType)id);

    /// <summary>The block geometry of a known type.</summary>
    public static Geometry GeometryOf(GgmlType type) =>
        Table.TryGetValue(type, out var g) ? g : throw new ArgumentOutOfRangeException(nameof(type), type, "unknown ggml type");

    /// <summary>Bytes taken by one row of <paramref name="rowLength"/> values (a multiple of the block size).</summary>
    public static long RowBytes(GgmlType type, long rowLength)
    {
        var g = GeometryOf(type);
        return rowLength / g.BlockSize * g.BlockBytes;
    }

    /// <summary>
    /// The rules a tensor's shape must follow in a GGUF file (the reader enforces them, the writer refuses to break
    /// them): 1 to <see cref="GgufFile.MaxDimensions"/> dimensions, each at least 1, an element count and a byte
    /// size that fit in 64 bits, and rows that are a whole number of blocks. Returns null and the byte size when
    /// the shape is valid, otherwise what is wrong, worded to follow "tensor 'name' " in a message.
    /// </summary>
    internal static string? CheckShape(GgmlType type, ReadOnlySpan<long> shape, out long byteSize)
    {
        byteSize = 0;
        if (shape.Length is 0 or > GgufFile.MaxDimensions)
            return $"has {shape.Length} dimensions; 1 to {GgufFile.MaxDimensions} are allowed";
        long elements = 1;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] <= 0)
                return $"has dimension {d} = {shape[d]}; every dimension must be at least 1";
            if (elements > long.MaxValue / shape[d])
                return $"has dimensions [{string.Join(", ", shape.ToArray())}] whose product overflows a 64-bit element count";
            elements *= shape[d];
        }
        var g = GeometryOf(type);
        if (shape[0] % g.BlockSize != 0)
            return $"({type}) has rows of {shape[0]} values, not a multiple of the block size {g.BlockSize}";
        // Bytes = blocks per row * block bytes * rows. A block can take more bytes than it holds values (F32, Q8_0),
        // so the byte size can overflow where the element count did not (F64 with 2^61 elements).
        long bytes = shape[0] / g.BlockSize;
        if (bytes > long.MaxValue / g.BlockBytes)
            return OverflowsBytes(type, shape);
        bytes *= g.BlockBytes;
        for (int d = 1; d < shape.Length; d++)
        {
            if (bytes > long.MaxValue / shape[d])
                return OverflowsBytes(type, shape);
            bytes *= shape[d];
        }
        byteSize = bytes;
        return null;
    }

    private static string OverflowsBytes(GgmlType type, ReadOnlySpan<long> shape) =>
        $"({type} [{string.Join(", ", shape.ToArray())}]) has a byte size that overflows 64 bits";
}
