namespace LlamaAot.Quants;

/// <summary>
/// The interleaved Q4_0 layout, declared once for every row count (16 rows for the 512-bit kernels, 8 for the 256-bit
/// ones): one int32 lane per row, so a step computes one block of every row of a group with no horizontal sum.
/// <para>One group step (one block of each of the rows, as many bytes as the blocks): the rows' half scales, then 4
/// chunks of 4 bytes per row; chunk c holds, in int32 lane r, bytes 4c..4c+3 of row r's quants, so its low nibbles are
/// values 4c..4c+3 of the row and its high nibbles values 16+4c..16+4c+3.</para>
/// </summary>
internal static unsafe class Q4_0RowChunks
{
    /// <summary>Bytes of the scales at the start of a group step.</summary>
    public static int ScaleBytes(int rows) => rows * 2;

    /// <summary>Bytes of one chunk (4 bytes of every row).</summary>
    public static int ChunkBytes(int rows) => rows * 4;

    /// <summary>Writes one group of <paramref name="rows"/> from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst, int rows)
    {
        int blocks = k / BlockQ4_0.BlockSize;
        nint groupStep = rows * sizeof(BlockQ4_0);
        for (int b = 0; b < blocks; b++)
        {
            byte* g = dst + b * groupStep;
            new Span<byte>(g, (int)groupStep).Clear();
            for (int r = 0; r < rowCount; r++)
            {
                var block = (BlockQ4_0*)(src + r * srcRowBytes) + b;
                ((ushort*)g)[r] = block->D;
                for (int c = 0; c < 4; c++)
                    *(uint*)(g + ScaleBytes(rows) + c * ChunkBytes(rows) + r * 4) = *(uint*)(block->Qs + 4 * c);
            }
        }
    }
}
