using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// Q6_K repacked in groups of 16 rows for the 512-bit path, as <see cref="Q4_KxQ8_K_Avx512_X16"/> is: one int32 lane
/// per row, a super-block of 16 rows per step, activations broadcast 4 quants at a time; the signed sub-block scales
/// are unpacked once per step and serve every token of a matrix-matrix tile.
/// <para>Layout: <see cref="Q6_KRowChunks"/> with 16 rows (a group step of 3360 bytes).</para>
/// <para>Per row and super-block, llama.cpp's 8 lanes (lane k: the values with (e % 32) / 4 == k): the 6-bit quants
/// (0..63) meet the activations through vpmaddubsw, in pairs in 16 bits, then vpmaddwd with the 16-value sub-block's
/// scale; lane k loses 32 * (scale_2k * bsums_2k + scale_2k+1 * bsums_2k+1), one vpmaddwd; all exact in int32; then
/// one FMA per lane, L_k += (d * d_x) * lane_k, and hsum_float_8 at the end (<see cref="RowLanes8"/>): llama.cpp's
/// ggml_vec_dot_q6_K_q8_K, bit for bit.</para>
/// </summary>
[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemmColumns = 4)]
internal static unsafe class Q6_KxQ8_K_Avx512_X16
{
    public const int Rows = 16;
    public const int ValuesPerStep = BlockQ6_K.BlockSize;
    private const int ScaleOffset = 2 * Rows;
    private const int LowOffset = ScaleOffset + 4 * ChunkBytes;
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
            var scales = Vector512.Load(g + ScaleOffset + ChunkBytes * k);
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
    public static RowLanes8 MulAdd(in Weights w, byte* x, RowLanes8 acc)
    {
        var a = (BlockQ8_K*)x;
        Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int c = 0; c < 4; c++)
        {
            var (e, o) = Lanes(w, a, c, 0);
            s0 += e;
            s1 += o;
            (e, o) = Lanes(w, a, c, 1);
            s2 += e;
            s3 += o;
            (e, o) = Lanes(w, a, c, 2);
            s4 += e;
            s5 += o;
            (e, o) = Lanes(w, a, c, 3);
            s6 += e;
            s7 += o;
        }
        var d = w.D * Vector512.Create(a->D);
        return new(
            Lane(w, a, 0, s0, d, acc.L0), Lane(w, a, 1, s1, d, acc.L1), Lane(w, a, 2, s2, d, acc.L2), Lane(w, a, 3, s3, d, acc.L3),
            Lane(w, a, 4, s4, d, acc.L4), Lane(w, a, 5, s5, d, acc.L5), Lane(w, a, 6, s6, d, acc.L6), Lane(w, a, 7, s7, d, acc.L7));
    }

    /// <summary>acc + d * (lane k - its offset): 32 * (scale_2k * bsums_2k + scale_2k+1 * bsums_2k+1) of every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Lane(in Weights w, BlockQ8_K* a, int k, Vector512<int> sum, Vector512<float> d, Vector512<float> acc)
    {
        var offset = Avx512BW.MultiplyAddAdjacent(w.Unpacked[16 + k], Vector512.Create(*(int*)(a->BSums + 2 * k)).AsInt16());
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum - (offset << 5)), d, acc);
    }

    /// <summary>
    /// Lanes 2u and 2u + 1 of chunk c (values 64c + 8u + 0..3 and + 32, and 64c + 8u + 4..7 and + 32) of every row:
    /// the quants of two low-bit chunks and one high-bit chunk, each pair times its sub-block's scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<int> Even, Vector512<int> Odd) Lanes(in Weights w, BlockQ8_K* a, int c, int u)
    {
        var mask = Vector512.Create((byte)0x0F);
        var highMask = Vector512.Create((byte)0x30);
        byte* low = w.G + LowOffset + c * 8 * ChunkBytes;
        var h = Vector512.Load(w.G + HighOffset + (4 * c + u) * ChunkBytes);
        sbyte* xl = a->Qs + 64 * c + 8 * u, xh = xl + 32;
        var raw0 = Vector512.Load(low + 2 * u * ChunkBytes);
        var raw1 = Vector512.Load(low + (2 * u + 1) * ChunkBytes);
        var q0 = (raw0 & mask) | (Vector512.ShiftLeft(h.AsUInt16(), 4).AsByte() & highMask);
        var q1 = (raw1 & mask) | (h & highMask);
        var q2 = (Vector512.ShiftRightLogical(raw0.AsUInt16(), 4).AsByte() & mask) | (Vector512.ShiftLeft(h.AsUInt16(), 2).AsByte() & highMask);
        var q3 = (Vector512.ShiftRightLogical(raw1.AsUInt16(), 4).AsByte() & mask) | (Vector512.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & highMask);
        Vector512<short> scaleLow = w.Unpacked[4 * c + u / 2], scaleHigh = w.Unpacked[4 * c + 2 + u / 2];
        var even = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q0, RowGroups.Broadcast4(xl)), scaleLow)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q2, RowGroups.Broadcast4(xh)), scaleHigh);
        var odd = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q1, RowGroups.Broadcast4(xl + 4)), scaleLow)
            + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(q3, RowGroups.Broadcast4(xh + 4)), scaleHigh);
        return (even, odd);
    }

    /// <summary>hsum_float_8 of each row's 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(RowLanes8 acc, float* y, int count) => InterleavedStore.Rows(acc.Sum, y, count);

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q6_KRowChunks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}

/// <summary>
/// <see cref="Q6_KxQ8_K_Avx512_X16"/> at 256 bits: Q6_K repacked in groups of 8 rows (<see cref="Q6_KRowChunks"/>), one
/// int32 lane per row, the same exact lane integers and the same float operations per row (llama.cpp's 8 lanes of
/// ggml_vec_dot_q6_K_q8_K, then hsum_float_8).
/// </summary>
[KernelPrimitives(typeof(BlockQ6_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemmColumns = 4)]
internal static unsafe class Q6_KxQ8_K_Avx2_X8
{
    public const int Rows = 8;
    public const int ValuesPerStep = BlockQ6_K.BlockSize;
    private const int ScaleOffset = 2 * Rows;
    private const int LowOffset = ScaleOffset + 4 * ChunkBytes;
    private const int HighOffset = LowOffset + 32 * ChunkBytes;
    private const int ChunkBytes = Rows * 4;

    /// <summary>One super-block of 8 rows: where its quants are, its unpacked scales (<see cref="Unpacked"/>) and d.</summary>
    public readonly struct Weights(byte* g, Vector256<short>* unpacked, Vector256<float> d)
    {
        public readonly byte* G = g;

        /// <summary>
        /// Scale j (j = 0..15) in both 16-bit halves of each row's lane, then (16 + p) scales 2p and 2p + 1 side by
        /// side, for the offset.
        /// </summary>
        public readonly Vector256<short>* Unpacked = unpacked;
        public readonly Vector256<float> D = d;
    }

    /// <summary>This thread's place for the unpacked scales of the step in progress (768 bytes, never freed).</summary>
    [ThreadStatic]
    private static Vector512<short>* t_unpacked;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g)
    {
        var unpacked = (Vector256<short>*)RowGroups.Scratch(ref t_unpacked, 12);
        for (int k = 0; k < 4; k++)
        {
            var scales = Vector256.Load(g + ScaleOffset + ChunkBytes * k);
            for (int i = 0; i < 4; i++)
                unpacked[4 * k + i] = Avx2.ShiftRightArithmetic(Avx2.Shuffle(scales, Spread(i, i)).AsInt16(), 8);
            unpacked[16 + 2 * k] = Avx2.ShiftRightArithmetic(Avx2.Shuffle(scales, Spread(0, 1)).AsInt16(), 8);
            unpacked[16 + 2 * k + 1] = Avx2.ShiftRightArithmetic(Avx2.Shuffle(scales, Spread(2, 3)).AsInt16(), 8);
        }
        return new(g, unpacked, HalfVectors.ToSingle(Avx2.ConvertToVector256Int32((ushort*)g).AsUInt32()));
    }

    /// <summary>
    /// vpshufb pattern: bytes i and j of every int32 lane into the high bytes of its two 16-bit halves (an arithmetic
    /// shift by 8 then sign-extends them); vpshufb picks within 128-bit lanes, so int32 lane d of each adds 4d.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Spread(int i, int j) => Vector256.Create((uint)(0x80 | i << 8 | 0x80 << 16 | j << 24)).AsByte()
        + (RowGroups.LaneByteOffsets.GetLower() & Vector256.Create(0xFF00FF00u).AsByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowLanes8x256 MulAdd(in Weights w, byte* x, RowLanes8x256 acc)
    {
        var a = (BlockQ8_K*)x;
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (int c = 0; c < 4; c++)
        {
            var (e, o) = Lanes(w, a, c, 0);
            s0 += e;
            s1 += o;
            (e, o) = Lanes(w, a, c, 1);
            s2 += e;
            s3 += o;
            (e, o) = Lanes(w, a, c, 2);
            s4 += e;
            s5 += o;
            (e, o) = Lanes(w, a, c, 3);
            s6 += e;
            s7 += o;
        }
        var d = w.D * Vector256.Create(a->D);
        return new(
            Lane(w, a, 0, s0, d, acc.L0), Lane(w, a, 1, s1, d, acc.L1), Lane(w, a, 2, s2, d, acc.L2), Lane(w, a, 3, s3, d, acc.L3),
            Lane(w, a, 4, s4, d, acc.L4), Lane(w, a, 5, s5, d, acc.L5), Lane(w, a, 6, s6, d, acc.L6), Lane(w, a, 7, s7, d, acc.L7));
    }

    /// <summary>acc + d * (lane k - its offset): 32 * (scale_2k * bsums_2k + scale_2k+1 * bsums_2k+1) of every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lane(in Weights w, BlockQ8_K* a, int k, Vector256<int> sum, Vector256<float> d, Vector256<float> acc)
    {
        var offset = Avx2.MultiplyAddAdjacent(w.Unpacked[16 + k], Vector256.Create(*(int*)(a->BSums + 2 * k)).AsInt16());
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum - (offset << 5)), d, acc);
    }

    /// <summary>
    /// Lanes 2u and 2u + 1 of chunk c (values 64c + 8u + 0..3 and + 32, and 64c + 8u + 4..7 and + 32) of every row:
    /// the quants of two low-bit chunks and one high-bit chunk, each pair times its sub-block's scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<int> Even, Vector256<int> Odd) Lanes(in Weights w, BlockQ8_K* a, int c, int u)
    {
        var mask = Vector256.Create((byte)0x0F);
        var highMask = Vector256.Create((byte)0x30);
        byte* low = w.G + LowOffset + c * 8 * ChunkBytes;
        var h = Vector256.Load(w.G + HighOffset + (4 * c + u) * ChunkBytes);
        sbyte* xl = a->Qs + 64 * c + 8 * u, xh = xl + 32;
        var raw0 = Vector256.Load(low + 2 * u * ChunkBytes);
        var raw1 = Vector256.Load(low + (2 * u + 1) * ChunkBytes);
        var q0 = (raw0 & mask) | (Vector256.ShiftLeft(h.AsUInt16(), 4).AsByte() & highMask);
        var q1 = (raw1 & mask) | (h & highMask);
        var q2 = (Vector256.ShiftRightLogical(raw0.AsUInt16(), 4).AsByte() & mask) | (Vector256.ShiftLeft(h.AsUInt16(), 2).AsByte() & highMask);
        var q3 = (Vector256.ShiftRightLogical(raw1.AsUInt16(), 4).AsByte() & mask) | (Vector256.ShiftRightLogical(h.AsUInt16(), 2).AsByte() & highMask);
        Vector256<short> scaleLow = w.Unpacked[4 * c + u / 2], scaleHigh = w.Unpacked[4 * c + 2 + u / 2];
        var even = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q0, RowGroups.Broadcast4Of8(xl)), scaleLow)
            + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q2, RowGroups.Broadcast4Of8(xh)), scaleHigh);
        var odd = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q1, RowGroups.Broadcast4Of8(xl + 4)), scaleLow)
            + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(q3, RowGroups.Broadcast4Of8(xh + 4)), scaleHigh);
        return (even, odd);
    }

    /// <summary>hsum_float_8 of each row's 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(RowLanes8x256 acc, float* y, int count) => InterleavedStore.Rows(acc.Sum, y, count);

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q6_KRowChunks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}
