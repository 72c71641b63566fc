namespace LlamaAot.Quants;

/// <summary>
/// The grouped Q8_0 layout, declared once for every row count (2 rows for the 512-bit kernels, 4 for the 256-bit
/// ones): one group step holds one block of each of the rows, as many bytes as the blocks: the rows' half scales, then
/// row 0's 32 quants, row 1's, and so on. Each row's quants stay whole, so its products keep ggml's lanes.
/// </summary>
internal static unsafe class Q8_0RowBlocks
{
    /// <summary>Bytes of one group step of <paramref name="rows"/> rows: one block of each.</summary>
    public static nint Step(int rows) => rows * sizeof(BlockQ8_0);

    /// <summary>Writes one group of <paramref name="rows"/> from <paramref name="rowCount"/> rows of the file's layout; a missing row is zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst, int rows)
    {
        int blocks = k / BlockQ8_0.BlockSize;
        nint groupStep = Step(rows);
        for (int b = 0; b < blocks; b++)
        {
            byte* g = dst + b * groupStep;
            new Span<byte>(g, (int)groupStep).Clear();
            for (int r = 0; r < rowCount; r++)
            {
                var block = (BlockQ8_0*)(src + r * srcRowBytes) + b;
                ((ushort*)g)[r] = block->D;
                new ReadOnlySpan<byte>(block->Qs, BlockQ8_0.BlockSize).CopyTo(new Span<byte>(g + rows * 2 + r * BlockQ8_0.BlockSize, BlockQ8_0.BlockSize));
            }
        }
    }
}
