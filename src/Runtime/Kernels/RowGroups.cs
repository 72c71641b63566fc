using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

/// <summary>
/// What the interleaved primitives (Q4_0, Q4_K, Q6_K in 16-row groups at 512 bits, 8-row groups at 256: one int32
/// lane per row) share: activation quants
/// broadcast four at a time, the vpshufb lane offsets for spreading one byte of each lane, and the per-thread scratch
/// where a step's unpacked scales wait for the tokens of a tile.
/// </summary>
internal static unsafe class RowGroups
{
    /// <summary>Four activation quants in every int32 lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<sbyte> Broadcast4(sbyte* p) => Vector512.Create(*(int*)p).AsSByte();

    /// <summary>Four activation quants in every int32 lane of a 256-bit vector (the 8-row groups).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Broadcast4Of8(sbyte* p) => Vector256.Create(*(int*)p).AsSByte();

    /// <summary>
    /// vpshufb picks bytes within 128-bit lanes: a pattern that names byte i of an int32 lane must add 4d for int32
    /// lane d of each 128-bit lane. This is 4d in every byte; mask it to the bytes that hold indices.
    /// </summary>
    public static Vector512<byte> LaneByteOffsets => Vector512.Create(
        0u, 0x04040404, 0x08080808, 0x0C0C0C0C, 0u, 0x04040404, 0x08080808, 0x0C0C0C0C,
        0u, 0x04040404, 0x08080808, 0x0C0C0C0C, 0u, 0x04040404, 0x08080808, 0x0C0C0C0C).AsByte();

    /// <summary>This thread's scratch of <paramref name="vectors"/> 512-bit vectors (allocated once, never freed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short>* Scratch(ref Vector512<short>* threadSlot, int vectors) =>
        threadSlot is not null ? threadSlot : threadSlot = (Vector512<short>*)NativeMemory.AlignedAlloc((nuint)(vectors * 64), 64);
}
