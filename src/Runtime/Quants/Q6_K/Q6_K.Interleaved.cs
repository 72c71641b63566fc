using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// Q6_K repacked in groups of 16 rows for the 512-bit path, as <see cref="Q4_KxQ8_K_Avx512_X16"/> is: one int32 lane
/// per row, a super-block of 16 rows per step, activations broadcast 4 quants at a time; the signed sub-block scales
/// are unpacked once per step and serve every token of a matrix-matrix tile.
/// <para>Layout of one group step (one super-block of each of the 16 rows, 3360 bytes, the same as 16 blocks): 16
/// half d (32 bytes); four 64-byte words of scales (int32 lane r of word k holds row r's scales 4k..4k+3); 32 chunks
/// of low 4 bits (chunk 8c + t, int32 lane r: the low nibbles are values 64c + 4t..+3 of row r, the high nibbles
/// values 64c + 32 + 4t..+3); then 16 chunks of high 2 bits (chunk 4c + u, byte j of int32 lane r: bits 0-1, 2-3, 4-5
/// and 6-7 are the high bits of values 64c + 8u + j, 64c + 32 + 8u + j, 64c + 8u + 4 + j and 64c + 32 + 8u + 4 + j).</para>
/// <para>Per row and super-block: the 6-bit quants (0..63) meet the activations through vpmaddubsw, two at a time
/// in 16 bits (2 * 2 * 63 * 128 = 32256 fits), then vpmaddwd with the 16-value sub-block's scale; the -32 offset is
/// 32 * sum_j scale_j * bsums[j], also one vpmaddwd per two sub-blocks; all exact in int32; then
/// acc += (d * d_x) * (sum - offset). llama.cpp's vec_dot does the same integers in eight lanes per row and converts
/// each, so results agree with it to rounding, not bit for bit.</para>
/// </summary>
[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemvUnroll = 1, GemmColumns = 4)]
internal static unsafe class Q6_KxQ8_K_Avx512_X16
{
    public const int Rows = 16;
    public const int ValuesPerStep = BlockQ6_K.BlockSize;
    private const int ScaleOffset = 2 * Rows;
    private const int LowOffset = ScaleOffset + 4 * 64;
    private const int HighOffset = LowOffset + 32 * ChunkBytes;
    private const int ChunkBytes = Rows * 4;

    /// <summary>One super-block of 16 rows: where its quants are, its unpacked scales (<see cref="Unpacked"/>) and d.</summary>
    public readonly struct Weights(byte* g, Vector512<short>* unpacked, Vector512<float> d)
    {
        public readonly byte* G = g;

        /// <summary>
        /// Scale j (j = 0..15) in both 16-bit halves of each row's lane, then (16 + p) scales 2p and 2p + 1 side by
        /// side, for the offset.
        /// </summary>
        public readonly Vector512<short>* Unpacked = unpacked;
        public readonly Vector512<float> D = d;
    }

    /// <summary>This thread's place for the unpacked scales of the step in progress (1.5 KiB, never freed).</summary>
    [ThreadStatic]
    private static Vector512<short>* t_unpacked;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g)
    {
        var unpacked = RowGroups.Scratch(ref t_unpacked, 24);
        for (int k = 0; k < 4; k++)
        {
            var scales = Vector512.Load(g + ScaleOffset + 64 * k);
            for (int i = 0; i < 4; i++)
                unpacked[4 * k + i] = Avx512BW.ShiftRightArithmetic(Avx512BW.Shuffle(scales, Spread(i, i)).AsInt16(), 8);
            unpacked[16 + 2 * k] = Avx512BW.ShiftRightArithmetic(Avx512BW.Shuffle(scales, Spread(0, 1)).AsInt16(), 8);
            unpacked[16 + 2 * k + 1] = Avx512BW.ShiftRightArithmetic(Avx512BW.Shuffle(scales, Spread(2, 3)).AsInt16(), 8);
        }
        return new(g, unpacked, HalfVectors.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)g))));
    }

    /// <summary>
    /// vpshufb pattern: bytes i and j of every int32 lane into the high bytes of its two 16-bit halves (an arithmetic
    /// shift by 8 then sign-extends them); vpshufb picks within 128-bit lanes, so int32 lane d of each adds 4d.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Spread(int i, int j) => Vector512.Create((uint)(0x80 | i << 8 | 0x80 << 16 | j << 24)).AsByte()
        + (RowGroups.LaneByteOffsets & Vector512.Create(0xFF00FF00u).AsByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, byte* x, Vector512<float> acc)
    {
        var a = (BlockQ8_K*)x;
        var mask = Vector512.Create((byte)0x0F);
        var highMask = Vector512.Create((byte)0x30);
        var sums = Vector512<int>.Zero;
        for (int c = 0; c < 4; c++)
        {
            byte* low = w.G + LowOffset + c * 8 * ChunkBytes;
            byte* high = w.G + HighOffset + c * 4 * ChunkBytes;
            sbyte* xl = a->Qs + 64 * c, xh = xl + 32;
            for (int u = 0; u < 4; u++)
            {
                // Values 64c + 8u .. + 7 (one 16-value sub-block holds u = 0, 1, the next u = 2, 3) and the same + 32.
                var h = Vector512.Load(high + u * ChunkBytes);
                var raw0 = Vector512.Load(low + 2 * u * ChunkBytes);
                var raw1 = Vector512.Load(low + (2 * u + 1) * ChunkBytes);
                var q0 = (raw0 & mask) | (Vector512.ShiftLeft(h.AsUInt16(), 4).AsByte() & highMask);
                var q1 = (raw1 & mask) | (h & highMask);
                var q2 = (Vector512.ShiftRightLogical(raw0.AsUInt16(), 4).AsByte() & mask) | (Vector512.ShiftLeft(h.AsUInt16(), 2).AsByte() & highMask);
                var q3 = (Vector512.ShiftRightLogical(raw1.AsUInt16(), 4).AsByte() & mask) | (Vector512.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & highMask);
                var pairsLow = Avx512BW.MultiplyAddAdjacent(q0, RowGroups.Broadcast4(xl + 8 * u)) + Avx512BW.MultiplyAddAdjacent(q1, RowGroups.Broadcast4(xl + 8 * u + 4));
                var pairsHigh = Avx512BW.MultiplyAddAdjacent(q2, RowGroups.Broadcast4(xh + 8 * u)) + Avx512BW.MultiplyAddAdjacent(q3, RowGroups.Broadcast4(xh + 8 * u + 4));
                sums += Avx512BW.MultiplyAddAdjacent(pairsLow, w.Unpacked[4 * c + u / 2]) + Avx512BW.MultiplyAddAdjacent(pairsHigh, w.Unpacked[4 * c + 2 + u / 2]);
            }
        }
        var offset = Vector512<int>.Zero;
        for (int p = 0; p < 8; p++)
            offset += Avx512BW.MultiplyAddAdjacent(w.Unpacked[16 + p], Vector512.Create(*(int*)(a->BSums + 2 * p)).AsInt16());
        return Vector512.FusedMultiplyAdd(w.D * Vector512.Create(a->D), Vector512.ConvertToSingle(sums - (offset << 5)), acc);
    }

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst)
    {
        int blocks = k / BlockQ6_K.BlockSize;
        nint groupStep = Rows * sizeof(BlockQ6_K);
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
                    g[ScaleOffset + 64 * (j / 4) + 4 * r + j % 4] = (byte)block->Scales[j];
                Quants(block, q);
                for (int c = 0; c < 4; c++)
                {
                    for (int t = 0; t < 8; t++)
                    {
                        for (int j = 0; j < 4; j++)
                            g[LowOffset + (8 * c + t) * ChunkBytes + 4 * r + j] = (byte)(q[64 * c + 4 * t + j] & 15 | (q[64 * c + 32 + 4 * t + j] & 15) << 4);
                    }
                    for (int u = 0; u < 4; u++)
                    {
                        for (int j = 0; j < 4; j++)
                        {
                            int v = 64 * c + 8 * u + j;
                            g[HighOffset + (4 * c + u) * ChunkBytes + 4 * r + j] =
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
