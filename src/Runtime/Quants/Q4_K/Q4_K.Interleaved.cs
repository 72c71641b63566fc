using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// Q4_K repacked in groups of 16 rows for the 512-bit path, as Q4_0 is (<see cref="Q4_0xQ8_0S_Avx512_X16"/>): one
/// int32 lane per row, so a step computes a super-block of 16 rows with no horizontal sum, and the activations are
/// broadcast 4 quants at a time. The sub-block scales and mins are unpacked once per step (<see cref="LoadWeights"/>)
/// and serve every token of a matrix-matrix tile; the nibbles are split per token, from L1.
/// <para>Layout: <see cref="Q4_KRowChunks"/> with 16 rows (a group step of 2304 bytes).</para>
/// <para>Per row and pair of sub-blocks: eight vpmaddubsw per sub-block summed in 16 bits (8 * 2 * 15 * 128 = 30720
/// fits), one vpmaddwd with the sub-block scale in both 16-bit halves of the row's lane: an exact int32 S; the mins the
/// same way against the activations' bsums: M. Then llama.cpp's repacked float order (<see cref="Q4_KRepackedOrder"/>):
/// MulAdd adds S and M of each pair of sub-blocks into the rows' two sums with one FMA each (ggml_gemm's order, for
/// every token); Store writes acc - acc_min.</para>
/// </summary>
[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Avx512, GemmColumns = 4)]
internal static unsafe class Q4_KxQ8_K_Avx512_X16
{
    public const int Rows = 16;
    public const int ValuesPerStep = BlockQ4_K.BlockSize;
    private const int ChunkBytes = Rows * 4;
    private const int HeaderBytes = 2 * Rows * 2 + 3 * ChunkBytes; // Q4_KRowChunks.QuantOffset

    /// <summary>
    /// One super-block of 16 rows: where its nibbles are, its scales and mins unpacked (<see cref="Unpacked"/>), d and
    /// dmin. Small on purpose: the kernels copy it, and a copy of the 16 unpacked vectors per step showed up as
    /// memmove and memset in the profile.
    /// </summary>
    public readonly struct Weights(byte* q, Vector512<short>* unpacked, Vector512<float> d, Vector512<float> dmin)
    {
        public readonly byte* Q = q;

        /// <summary>Sub-block j's scale (j = 0..7), then its min (8 + j), in both 16-bit halves of each row's lane.</summary>
        public readonly Vector512<short>* Unpacked = unpacked;
        public readonly Vector512<float> D = d;
        public readonly Vector512<float> DMin = dmin;
    }

    /// <summary>This thread's place for the unpacked scales and mins of the step in progress (1 KiB, never freed).</summary>
    [ThreadStatic]
    private static Vector512<short>* t_unpacked;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g)
    {
        var unpacked = RowGroups.Scratch(ref t_unpacked, 16);
        var z0 = Vector512.Load((uint*)(g + 4 * Rows));
        var z1 = Vector512.Load((uint*)(g + 4 * Rows + ChunkBytes));
        var z2 = Vector512.Load((uint*)(g + 4 * Rows + 2 * ChunkBytes));
        var low6 = Vector512.Create(0x3F3F3F3Fu);
        var scales03 = (z0 & low6).AsByte();
        var mins03 = (z1 & low6).AsByte();
        var scales47 = (z2 & low6).AsByte();
        var mins47 = (((z0 >> 6) & Vector512.Create(0x03030303u)) | ((z1 >> 4) & Vector512.Create(0x0C0C0C0Cu)) | ((z2 >> 2) & Vector512.Create(0x30303030u))).AsByte();
        for (int i = 0; i < 4; i++)
        {
            var spread = Spread(i);
            unpacked[i] = Avx512BW.Shuffle(scales03, spread).AsInt16();
            unpacked[i + 4] = Avx512BW.Shuffle(scales47, spread).AsInt16();
            unpacked[8 + i] = Avx512BW.Shuffle(mins03, spread).AsInt16();
            unpacked[8 + i + 4] = Avx512BW.Shuffle(mins47, spread).AsInt16();
        }
        return new(g + HeaderBytes, unpacked,
            HalfVectors.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)g))),
            HalfVectors.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)(g + 2 * Rows)))));
    }

    /// <summary>
    /// vpshufb pattern: byte i of every int32 lane into both 16-bit halves of the lane, zero-extended (vpshufb picks
    /// within 128-bit lanes, so int32 lane d of each adds 4d to the byte index; 0x80 picks zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Spread(int i) => Vector512.Create((uint)(i | 0x80 << 8 | i << 16 | 0x80 << 24)).AsByte()
        + (RowGroups.LaneByteOffsets & Vector512.Create(0x00FF00FFu).AsByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    /// <summary>ggml_gemm's step: S and M of each pair of sub-blocks, one FMA each, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowScaleAndMinSums MulAdd(in Weights w, byte* x, RowScaleAndMinSums acc)
    {
        var a = (BlockQ8_K*)x;
        var dx = Vector512.Create(a->D);
        Vector512<float> d = w.D * dx, dmin = w.DMin * dx, scales = acc.Scales, mins = acc.Mins;
        for (int p = 0; p < 4; p++)
        {
            scales = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(PairSum(w, a, p)), d, scales);
            mins = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(PairMins(w, a, p)), dmin, mins);
        }
        return new(scales, mins);
    }

    /// <summary>acc - acc_min of each row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(RowScaleAndMinSums acc, float* y, int count) => InterleavedStore.Rows(acc.Scales - acc.Mins, y, count);

    /// <summary>S of sub-blocks 2p and 2p + 1 (the 32 bytes of quant chunk p) of every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairSum(in Weights w, BlockQ8_K* a, int p)
    {
        var mask = Vector512.Create((byte)0x0F);
        byte* q = w.Q + p * 8 * ChunkBytes;
        sbyte* xl = a->Qs + 64 * p, xh = xl + 32;
        var low = Vector512<short>.Zero;
        var high = Vector512<short>.Zero;
        for (int t = 0; t < 8; t++)
        {
            var raw = Vector512.Load(q + t * ChunkBytes);
            low += Avx512BW.MultiplyAddAdjacent(raw & mask, RowGroups.Broadcast4(xl + 4 * t));
            high += Avx512BW.MultiplyAddAdjacent(Vector512.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & mask, RowGroups.Broadcast4(xh + 4 * t));
        }
        return Avx512BW.MultiplyAddAdjacent(low, w.Unpacked[2 * p]) + Avx512BW.MultiplyAddAdjacent(high, w.Unpacked[2 * p + 1]);
    }

    /// <summary>
    /// M of sub-blocks 2p and 2p + 1 of every row. Sub-block j's activation sum is bsums[2j] + bsums[2j + 1]: one
    /// vpmaddwd against (min, min) adds both.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> PairMins(in Weights w, BlockQ8_K* a, int p) =>
        Avx512BW.MultiplyAddAdjacent(w.Unpacked[8 + 2 * p], Vector512.Create(*(int*)(a->BSums + 4 * p)).AsInt16())
        + Avx512BW.MultiplyAddAdjacent(w.Unpacked[9 + 2 * p], Vector512.Create(*(int*)(a->BSums + 4 * p + 2)).AsInt16());

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q4_KRowChunks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}

/// <summary>
/// <see cref="Q4_KxQ8_K_Avx512_X16"/> at 256 bits: Q4_K repacked in groups of 8 rows (<see cref="Q4_KRowChunks"/>), as
/// llama.cpp's AVX2 build repacks it (q4_K_8x8_q8_K), one int32 lane per row; the same exact integers S and M per pair
/// of sub-blocks and the same float operations per row (<see cref="Q4_KRepackedOrder"/>).
/// </summary>
[KernelPrimitives(typeof(BlockQ4_K), typeof(BlockQ8_K), KernelIsa.Avx2, GemmColumns = 4)]
internal static unsafe class Q4_KxQ8_K_Avx2_X8
{
    public const int Rows = 8;
    public const int ValuesPerStep = BlockQ4_K.BlockSize;
    private const int ChunkBytes = Rows * 4;
    private const int HeaderBytes = 2 * Rows * 2 + 3 * ChunkBytes; // Q4_KRowChunks.QuantOffset

    /// <summary>One super-block of 8 rows: where its nibbles are, its scales and mins unpacked, d and dmin.</summary>
    public readonly struct Weights(byte* q, Vector256<short>* unpacked, Vector256<float> d, Vector256<float> dmin)
    {
        public readonly byte* Q = q;

        /// <summary>Sub-block j's scale (j = 0..7), then its min (8 + j), in both 16-bit halves of each row's lane.</summary>
        public readonly Vector256<short>* Unpacked = unpacked;
        public readonly Vector256<float> D = d;
        public readonly Vector256<float> DMin = dmin;
    }

    /// <summary>This thread's place for the unpacked scales and mins of the step in progress (never freed).</summary>
    [ThreadStatic]
    private static Vector512<short>* t_unpacked;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g)
    {
        var unpacked = (Vector256<short>*)RowGroups.Scratch(ref t_unpacked, 8);
        var z0 = Vector256.Load((uint*)(g + 4 * Rows));
        var z1 = Vector256.Load((uint*)(g + 4 * Rows + ChunkBytes));
        var z2 = Vector256.Load((uint*)(g + 4 * Rows + 2 * ChunkBytes));
        var low6 = Vector256.Create(0x3F3F3F3Fu);
        var scales03 = (z0 & low6).AsByte();
        var mins03 = (z1 & low6).AsByte();
        var scales47 = (z2 & low6).AsByte();
        var mins47 = (((z0 >> 6) & Vector256.Create(0x03030303u)) | ((z1 >> 4) & Vector256.Create(0x0C0C0C0Cu)) | ((z2 >> 2) & Vector256.Create(0x30303030u))).AsByte();
        for (int i = 0; i < 4; i++)
        {
            var spread = Spread(i);
            unpacked[i] = Avx2.Shuffle(scales03, spread).AsInt16();
            unpacked[i + 4] = Avx2.Shuffle(scales47, spread).AsInt16();
            unpacked[8 + i] = Avx2.Shuffle(mins03, spread).AsInt16();
            unpacked[8 + i + 4] = Avx2.Shuffle(mins47, spread).AsInt16();
        }
        return new(g + HeaderBytes, unpacked,
            HalfVectors.ToSingle(Avx2.ConvertToVector256Int32((ushort*)g).AsUInt32()),
            HalfVectors.ToSingle(Avx2.ConvertToVector256Int32((ushort*)(g + 2 * Rows)).AsUInt32()));
    }

    /// <summary>vpshufb pattern: byte i of every int32 lane into both 16-bit halves of the lane, zero-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Spread(int i) => Vector256.Create((uint)(i | 0x80 << 8 | i << 16 | 0x80 << 24)).AsByte()
        + (RowGroups.LaneByteOffsets.GetLower() & Vector256.Create(0x00FF00FFu).AsByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte* LoadActivations(byte* x) => x;

    /// <summary>ggml_gemm's step: S and M of each pair of sub-blocks, one FMA each, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static RowScaleAndMinSums8 MulAdd(in Weights w, byte* x, RowScaleAndMinSums8 acc)
    {
        var a = (BlockQ8_K*)x;
        var dx = Vector256.Create(a->D);
        Vector256<float> d = w.D * dx, dmin = w.DMin * dx, scales = acc.Scales, mins = acc.Mins;
        for (int p = 0; p < 4; p++)
        {
            scales = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(PairSum(w, a, p)), d, scales);
            mins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(PairMins(w, a, p)), dmin, mins);
        }
        return new(scales, mins);
    }

    /// <summary>acc - acc_min of each row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(RowScaleAndMinSums8 acc, float* y, int count) => InterleavedStore.Rows(acc.Scales - acc.Mins, y, count);

    /// <summary>S of sub-blocks 2p and 2p + 1 (the 32 bytes of quant chunk p) of every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairSum(in Weights w, BlockQ8_K* a, int p)
    {
        var mask = Vector256.Create((byte)0x0F);
        byte* q = w.Q + p * 8 * ChunkBytes;
        sbyte* xl = a->Qs + 64 * p, xh = xl + 32;
        var low = Vector256<short>.Zero;
        var high = Vector256<short>.Zero;
        for (int t = 0; t < 8; t++)
        {
            var raw = Vector256.Load(q + t * ChunkBytes);
            low += Avx2.MultiplyAddAdjacent(raw & mask, RowGroups.Broadcast4Of8(xl + 4 * t));
            high += Avx2.MultiplyAddAdjacent(Vector256.ShiftRightLogical(raw.AsUInt16(), 4).AsByte() & mask, RowGroups.Broadcast4Of8(xh + 4 * t));
        }
        return Avx2.MultiplyAddAdjacent(low, w.Unpacked[2 * p]) + Avx2.MultiplyAddAdjacent(high, w.Unpacked[2 * p + 1]);
    }

    /// <summary>M of sub-blocks 2p and 2p + 1 of every row (one vpmaddwd each against the two bsums of a sub-block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairMins(in Weights w, BlockQ8_K* a, int p) =>
        Avx2.MultiplyAddAdjacent(w.Unpacked[8 + 2 * p], Vector256.Create(*(int*)(a->BSums + 4 * p)).AsInt16())
        + Avx2.MultiplyAddAdjacent(w.Unpacked[9 + 2 * p], Vector256.Create(*(int*)(a->BSums + 4 * p + 2)).AsInt16());

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q4_KRowChunks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}
