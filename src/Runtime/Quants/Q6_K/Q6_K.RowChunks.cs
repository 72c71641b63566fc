namespace LlamaAot.Quants;

/// <summary>
/// The interleaved Q6_K layout, declared once for every row count (16 rows for the 512-bit kernels, 8 for the 256-bit
/// ones): one int32 lane per row, so a step computes one super-block of every row of a group with no horizontal sum.
/// <para>One group step (one super-block of each of the rows, as many bytes as the blocks), where a word or a chunk is
/// 4 bytes per row: the rows' half d; four words of scales (int32 lane r of word k holds row r's scales 4k..4k+3); 32
/// chunks of low 4 bits (chunk 8c + t, int32 lane r: the low nibbles are values 64c + 4t..+3 of row r, the high
/// nibbles values 64c + 32 + 4t..+3); then 16 chunks of high 2 bits (chunk 4c + u, byte j of int32 lane r: bits 0-1,
/// 2-3, 4-5 and 6-7 are the high bits of values 64c + 8u + j, 64c + 32 + 8u + j, 64c + 8u + 4 + j and
/// 64c + 32 + 8u + 4 + j).</para>
/// </summary>
internal static unsafe class Q6_KRowChunks
{
    /// <summary>Writes one group of <paramref name="rows"/> from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst, int rows)
    {
        int blocks = k / BlockQ6_K.BlockSize;
        nint groupStep = rows * sizeof(BlockQ6_K);
        int chunk = 4 * rows, scaleOffset = 2 * rows, lowOffset = scaleOffset + 4 * chunk, highOffset = lowOffset + 32 * chunk;
        Span<byte> q = stackalloc byte[BlockQ6_K.BlockSize];
        for (int b = 0; b < blocks; b++)
        {
            byte* g = dst + b * groupStep;
            new Span<byte>(g, (int)groupStep).Clear();
            for (int r = 0; r < rowCount; r++)
            {
                var block = (BlockQ6_K*)(src + r * srcRowBytes) + b;
                ((ushort*)g)[r] = block->D;
                for (int j = 0; j < 16; j++)
                    g[scaleOffset + chunk * (j / 4) + 4 * r + j % 4] = (byte)block->Scales[j];
                Quants(block, q);
                for (int c = 0; c < 4; c++)
                {
                    for (int t = 0; t < 8; t++)
                    {
                        for (int j = 0; j < 4; j++)
                            g[lowOffset + (8 * c + t) * chunk + 4 * r + j] = (byte)(q[64 * c + 4 * t + j] & 15 | (q[64 * c + 32 + 4 * t + j] & 15) << 4);
                    }
                    for (int u = 0; u < 4; u++)
                    {
                        for (int j = 0; j < 4; j++)
                        {
                            int v = 64 * c + 8 * u + j;
                            g[highOffset + (4 * c + u) * chunk + 4 * r + j] =
                                (byte)(q[v] >> 4 | (q[v + 32] >> 4) << 2 | (q[v + 4] >> 4) << 4 | (q[v + 36] >> 4) << 6);
                        }
                    }
                }
            }
        }
    }

    /// <summary>The 256 quants (0..63) of a block in value order (<see cref="BlockQ6_K"/>'s layout).</summary>
    private static void Quants(BlockQ6_K* block, Span<byte> q)
    {
        for (int n = 0; n < 2; n++)
        {
            byte* ql = block->Ql + 64 * n;
            byte* qh = block->Qh + 32 * n;
            for (int l = 0; l < 32; l++)
            {
                q[128 * n + l] = (byte)(ql[l] & 15 | (qh[l] & 3) << 4);
                q[128 * n + l + 32] = (byte)(ql[l + 32] & 15 | (qh[l] >> 2 & 3) << 4);
                q[128 * n + l + 64] = (byte)(ql[l] >> 4 | (qh[l] >> 4 & 3) << 4);
                q[128 * n + l + 96] = (byte)(ql[l + 32] >> 4 | (qh[l] >> 6 & 3) << 4);
            }
        }
    }
}
