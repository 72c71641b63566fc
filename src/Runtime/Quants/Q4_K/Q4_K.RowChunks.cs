namespace LlamaAot.Quants;

/// <summary>
/// The interleaved Q4_K layout, declared once for every row count (16 rows for the 512-bit kernels, 8 for the 256-bit
/// ones): one int32 lane per row, so a step computes one super-block of every row of a group with no horizontal sum.
/// <para>One group step (one super-block of each of the rows, as many bytes as the blocks): the rows' half d, their
/// half dmin, three words of 6-bit scales and mins (int32 lane r holds row r's: word 0 bytes = scales 0..3, word 1 =
/// mins 0..3, word 2 = scales 4..7, each in the low 6 bits, and the top 2 bits of the three words' byte i carry bits
/// 0-1, 2-3 and 4-5 of min 4 + i), then 32 chunks: chunk 8c + t holds, in int32 lane r, bytes 4t..4t+3 of the 32-byte
/// quant chunk c of row r, whose low nibbles are values 64c + 4t.. (sub-block 2c) and high nibbles values
/// 64c + 32 + 4t.. (sub-block 2c + 1). A word or a chunk is 4 bytes per row.</para>
/// </summary>
internal static unsafe class Q4_KRowChunks
{
    /// <summary>Bytes of one word or chunk (4 bytes of every row).</summary>
    public static int ChunkBytes(int rows) => rows * 4;

    /// <summary>Where the three words of scales and mins start.</summary>
    public static int ScaleOffset(int rows) => 2 * rows * 2;

    /// <summary>Where the quant chunks start.</summary>
    public static int QuantOffset(int rows) => ScaleOffset(rows) + 3 * ChunkBytes(rows);

    /// <summary>Writes one group of <paramref name="rows"/> from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst, int rows)
    {
        int blocks = k / BlockQ4_K.BlockSize;
        nint groupStep = rows * sizeof(BlockQ4_K);
        int chunk = ChunkBytes(rows), scales = ScaleOffset(rows), quants = QuantOffset(rows);
        for (int b = 0; b < blocks; b++)
        {
            byte* g = dst + b * groupStep;
            new Span<byte>(g, (int)groupStep).Clear();
            for (int r = 0; r < rowCount; r++)
            {
                var block = (BlockQ4_K*)(src + r * srcRowBytes) + b;
                ((ushort*)g)[r] = block->D;
                ((ushort*)(g + 2 * rows))[r] = block->DMin;
                var packed = new ReadOnlySpan<byte>(block->Scales, KQuantScaleMin.Bytes);
                for (int i = 0; i < 4; i++)
                {
                    var (scaleLow, minLow) = KQuantScaleMin.Get(i, packed);
                    var (scaleHigh, minHigh) = KQuantScaleMin.Get(i + 4, packed);
                    g[scales + 4 * r + i] = (byte)(scaleLow | (minHigh & 3) << 6);
                    g[scales + chunk + 4 * r + i] = (byte)(minLow | (minHigh >> 2 & 3) << 6);
                    g[scales + 2 * chunk + 4 * r + i] = (byte)(scaleHigh | (minHigh >> 4 & 3) << 6);
                }
                for (int c = 0; c < 4; c++)
                {
                    for (int t = 0; t < 8; t++)
                        *(uint*)(g + quants + (8 * c + t) * chunk + 4 * r) = *(uint*)(block->Qs + 32 * c + 4 * t);
                }
            }
        }
    }
}
