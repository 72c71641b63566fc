using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

/// <summary>
/// Q4_0 repacked in groups of 16 rows for the 512-bit path: one accumulator lane per row, so a step computes a
/// block of 16 rows with no horizontal sum, and activations are broadcast 4 quants at a time.
/// <para>Layout of one group step (one block of each of the 16 rows, 288 bytes, the same as 16 blocks): 16 half
/// scales (32 bytes), then 4 chunks of 64 bytes; chunk c holds, in int32 lane r, bytes 4c..4c+3 of row r's quants,
/// so its low nibbles are values 4c..4c+3 of the row and its high nibbles values 16+4c..16+4c+3.</para>
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
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst)
    {
        int blocks = k / BlockQ4_0.BlockSize;
        nint groupStep = Rows * sizeof(BlockQ4_0);
        for (int b = 0; b < blocks; b++)
        {
            byte* g = dst + b * groupStep;
            new Span<byte>(g, (int)groupStep).Clear();
            for (int r = 0; r < rowCount; r++)
            {
                var block = (BlockQ4_0*)(src + r * srcRowBytes) + b;
                ((ushort*)g)[r] = block->D;
                for (int c = 0; c < 4; c++)
                    *(uint*)(g + ScaleBytes + c * ChunkBytes + r * 4) = *(uint*)(block->Qs + 4 * c);
            }
        }
    }
}
