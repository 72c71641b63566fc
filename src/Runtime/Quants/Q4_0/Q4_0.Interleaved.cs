using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// Q4_0 repacked in groups of 16 rows for the 512-bit path: one accumulator lane per row, so a step computes a
/// block of 16 rows with no horizontal sum, and activations are broadcast 4 quants at a time.
/// <para>Layout: <see cref="Q4_0RowChunks"/> with 16 rows (a group step of 288 bytes: 16 half scales, 4 chunks of 64 bytes).</para>
/// <para>Per block and row: the 32 nibbles (unsigned, 0..15) meet the activations through vpmaddubsw; the eight
/// 16-bit pair sums of a block stay below 8 * 2 * 15 * 127 = 30480, so they add up exactly in 16 bits before one
/// vpmaddwd; the -8 offset is 8 * (sum of the activation quants), precomputed per token. Then, as llama.cpp's
/// repacked Q4_0 kernels do: acc = fma(float(isum), d_w * d_x, acc).</para>
/// </summary>
[KernelPrimitives(typeof(BlockQ4_0), typeof(BlockQ8_0S), KernelIsa.Avx512, GemmColumns = 4)]
internal static unsafe class Q4_0xQ8_0S_Avx512_X16
{
    public const int Rows = 16;
    public const int ValuesPerStep = BlockQ4_0.BlockSize;
    private const int ScaleBytes = Rows * 2;
    private const int ChunkBytes = Rows * 4;

    /// <summary>One block of 16 rows: low and high nibbles of the 4 chunks, and the 16 row scales.</summary>
    public readonly struct Weights(Vector512<byte> l0, Vector512<byte> h0, Vector512<byte> l1, Vector512<byte> h1, Vector512<byte> l2, Vector512<byte> h2, Vector512<byte> l3, Vector512<byte> h3, Vector512<float> d)
    {
        public readonly Vector512<byte> L0 = l0, H0 = h0, L1 = l1, H1 = h1, L2 = l2, H2 = h2, L3 = l3, H3 = h3;
        public readonly Vector512<float> D = d;
    }

    /// <summary>One activation block: its quants (broadcast from memory as needed), scale and 8 * sum.</summary>
    public readonly struct Activations(sbyte* q, float d, int sum8)
    {
        public readonly sbyte* Q = q;
        public readonly float D = d;
        public readonly int Sum8 = sum8;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g)
    {
        var d = HalfVectors.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)g)));
        var mask = Vector512.Create((byte)0x0F);
        var c0 = Vector512.Load(g + ScaleBytes);
        var c1 = Vector512.Load(g + ScaleBytes + ChunkBytes);
        var c2 = Vector512.Load(g + ScaleBytes + 2 * ChunkBytes);
        var c3 = Vector512.Load(g + ScaleBytes + 3 * ChunkBytes);
        return new(
            c0 & mask, Vector512.ShiftRightLogical(c0.AsUInt16(), 4).AsByte() & mask,
            c1 & mask, Vector512.ShiftRightLogical(c1.AsUInt16(), 4).AsByte() & mask,
            c2 & mask, Vector512.ShiftRightLogical(c2.AsUInt16(), 4).AsByte() & mask,
            c3 & mask, Vector512.ShiftRightLogical(c3.AsUInt16(), 4).AsByte() & mask,
            d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0S*)x;
        return new(b->Qs, b->D, 8 * b->Sum);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Weights w, in Activations x, Vector512<float> acc)
    {
        var q = x.Q;
        var pairs = (Avx512BW.MultiplyAddAdjacent(w.L0, RowGroups.Broadcast4(q)) + Avx512BW.MultiplyAddAdjacent(w.H0, RowGroups.Broadcast4(q + 16)))
            + (Avx512BW.MultiplyAddAdjacent(w.L1, RowGroups.Broadcast4(q + 4)) + Avx512BW.MultiplyAddAdjacent(w.H1, RowGroups.Broadcast4(q + 20)))
            + ((Avx512BW.MultiplyAddAdjacent(w.L2, RowGroups.Broadcast4(q + 8)) + Avx512BW.MultiplyAddAdjacent(w.H2, RowGroups.Broadcast4(q + 24)))
            + (Avx512BW.MultiplyAddAdjacent(w.L3, RowGroups.Broadcast4(q + 12)) + Avx512BW.MultiplyAddAdjacent(w.H3, RowGroups.Broadcast4(q + 28))));
        var sums = Avx512BW.MultiplyAddAdjacent(pairs, Vector512<short>.One) - Vector512.Create(x.Sum8);
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sums), w.D * Vector512.Create(x.D), acc);
    }

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q4_0RowChunks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}

/// <summary>
/// <see cref="Q4_0xQ8_0S_Avx512_X16"/> at 256 bits: Q4_0 repacked in groups of 8 rows (<see cref="Q4_0RowChunks"/>), one
/// int32 lane per row, the same integer sums and the same float operations per row, as llama.cpp's AVX2 build
/// computes a Q4_0 matrix it repacks into 8-row groups (q4_0_8x8: acc = fma(float(isum), d_w * d_x, acc) per block).
/// The sixteen 16-bit pair sums of a block and row stay below 8 * 2 * 15 * 128 = 30720, so they add up exactly before
/// one vpmaddwd.
/// </summary>
[KernelPrimitives(typeof(BlockQ4_0), typeof(BlockQ8_0S), KernelIsa.Avx2, GemmColumns = 4)]
internal static unsafe class Q4_0xQ8_0S_Avx2_X8
{
    public const int Rows = 8;
    public const int ValuesPerStep = BlockQ4_0.BlockSize;
    private const int ScaleBytes = Rows * 2;
    private const int ChunkBytes = Rows * 4;

    /// <summary>One block of 8 rows: low and high nibbles of the 4 chunks, and the 8 row scales.</summary>
    public readonly struct Weights(Vector256<byte> l0, Vector256<byte> h0, Vector256<byte> l1, Vector256<byte> h1, Vector256<byte> l2, Vector256<byte> h2, Vector256<byte> l3, Vector256<byte> h3, Vector256<float> d)
    {
        public readonly Vector256<byte> L0 = l0, H0 = h0, L1 = l1, H1 = h1, L2 = l2, H2 = h2, L3 = l3, H3 = h3;
        public readonly Vector256<float> D = d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g)
    {
        var d = HalfVectors.ToSingle(Avx2.ConvertToVector256Int32((ushort*)g).AsUInt32());
        var mask = Vector256.Create((byte)0x0F);
        var c0 = Vector256.Load(g + ScaleBytes);
        var c1 = Vector256.Load(g + ScaleBytes + ChunkBytes);
        var c2 = Vector256.Load(g + ScaleBytes + 2 * ChunkBytes);
        var c3 = Vector256.Load(g + ScaleBytes + 3 * ChunkBytes);
        return new(
            c0 & mask, Vector256.ShiftRightLogical(c0.AsUInt16(), 4).AsByte() & mask,
            c1 & mask, Vector256.ShiftRightLogical(c1.AsUInt16(), 4).AsByte() & mask,
            c2 & mask, Vector256.ShiftRightLogical(c2.AsUInt16(), 4).AsByte() & mask,
            c3 & mask, Vector256.ShiftRightLogical(c3.AsUInt16(), 4).AsByte() & mask,
            d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q4_0xQ8_0S_Avx512_X16.Activations LoadActivations(byte* x) => Q4_0xQ8_0S_Avx512_X16.LoadActivations(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Weights w, in Q4_0xQ8_0S_Avx512_X16.Activations x, Vector256<float> acc)
    {
        var q = x.Q;
        var pairs = (Avx2.MultiplyAddAdjacent(w.L0, RowGroups.Broadcast4Of8(q)) + Avx2.MultiplyAddAdjacent(w.H0, RowGroups.Broadcast4Of8(q + 16)))
            + (Avx2.MultiplyAddAdjacent(w.L1, RowGroups.Broadcast4Of8(q + 4)) + Avx2.MultiplyAddAdjacent(w.H1, RowGroups.Broadcast4Of8(q + 20)))
            + ((Avx2.MultiplyAddAdjacent(w.L2, RowGroups.Broadcast4Of8(q + 8)) + Avx2.MultiplyAddAdjacent(w.H2, RowGroups.Broadcast4Of8(q + 24)))
            + (Avx2.MultiplyAddAdjacent(w.L3, RowGroups.Broadcast4Of8(q + 12)) + Avx2.MultiplyAddAdjacent(w.H3, RowGroups.Broadcast4Of8(q + 28))));
        var sums = Avx2.MultiplyAddAdjacent(pairs, Vector256<short>.One) - Vector256.Create(x.Sum8);
        return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), w.D * Vector256.Create(x.D), acc);
    }

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; missing rows are zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q4_0RowChunks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}
