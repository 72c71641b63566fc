using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Quants;

/// <summary>
/// Spreads the 32 fifth bits of a Q5_0 or Q5_1 block (qh, bit j = value j) over bytes in value order: byte j is
/// 0x10 when bit j is set, else 0, ready to be OR-ed onto the value's nibble. Each byte first receives the qh byte
/// that holds its bit (a byte shuffle of the broadcast qh: byte j takes qh byte j / 8), then keeps 0x10 if bit
/// j % 8 of it is set.
/// </summary>
internal static class FifthBits
{
    /// <summary>Byte j: 1 &lt;&lt; (j % 8).</summary>
    private const ulong BitOfByte = 0x8040201008040201;

    /// <summary>Byte j of each 8-byte group k: k (the qh byte that holds bits 8k..8k+7).</summary>
    private const ulong Group = 0x0101010101010101;

    /// <summary>Two blocks in one 512-bit vector: bytes 0-31 are block 0, bytes 32-63 block 1 (AVX-512BW).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<byte> TwoBlocks(uint qh0, uint qh1)
    {
        var qh = Vector512.Create(qh0 | (ulong)qh1 << 32).AsByte();
        var spread = Avx512BW.Shuffle(qh, Vector512.Create(0, Group, 2 * Group, 3 * Group, 4 * Group, 5 * Group, 6 * Group, 7 * Group).AsByte());
        var bit = Vector512.Create(BitOfByte).AsByte();
        return Vector512.Equals(spread & bit, bit) & Vector512.Create((byte)0x10);
    }

    /// <summary>One block in a 256-bit vector (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> OneBlock(uint qh)
    {
        var spread = Avx2.Shuffle(Vector256.Create(qh).AsByte(), Vector256.Create(0, Group, 2 * Group, 3 * Group).AsByte());
        var bit = Vector256.Create(BitOfByte).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }

    /// <summary>One block as two 128-bit halves (values 0..15, values 16..31), cross-platform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> Lo, Vector128<byte> Hi) Portable(uint qh)
    {
        var bytes = Vector128.Create(qh).AsByte();
        var lo = Vector128.Shuffle(bytes, Vector128.Create(0, Group).AsByte());
        var hi = Vector128.Shuffle(bytes, Vector128.Create(2 * Group, 3 * Group).AsByte());
        var bit = Vector128.Create(BitOfByte).AsByte();
        var fifth = Vector128.Create((byte)0x10);
        return (Vector128.Equals(lo & bit, bit) & fifth, Vector128.Equals(hi & bit, bit) & fifth);
    }
}
