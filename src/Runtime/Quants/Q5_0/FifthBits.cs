using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlamaAot.Quants;

/// <summary>
/// Spreads the 32 fifth bits of a Q5_0 or Q5_1 block (qh, bit j = value j) over bytes: the byte of value j is 0x10
/// when bit j is set, else 0, ready to be OR-ed onto the value's nibble. Each byte first receives the qh byte that
/// holds its bit (a byte shuffle of the broadcast qh), then keeps 0x10 if its bit is set in it. Shared by Q5_0 and
/// Q5_1.
/// </summary>
internal static class FifthBits
{
    /// <summary>
    /// In <see cref="Kernels.GgmlLanes"/>' layout (AVX2): dword g holds values 4λ..4λ+3 with λ = 0, 4, 2, 6, 1, 5, 3, 7,
    /// whose bits sit in qh byte λ / 2 (0, 2, 1, 3, 0, 2, 1, 3) at bits 0-3 (λ even: the first 128-bit half) or 4-7.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> InGgmlLaneOrder(uint qh)
    {
        var source = Vector256.Create(0x00000000u, 0x02020202, 0x01010101, 0x03030303, 0x00000000, 0x02020202, 0x01010101, 0x03030303);
        var spread = Avx2.Shuffle(Vector256.Create(qh).AsByte(), source.AsByte());
        var bit = Vector256.Create(0x08040201u, 0x08040201, 0x08040201, 0x08040201, 0x80402010, 0x80402010, 0x80402010, 0x80402010).AsByte();
        return Vector256.Equals(spread & bit, bit) & Vector256.Create((byte)0x10);
    }

    /// <summary>In value order, as two 128-bit halves (values 0..15, values 16..31); cross-platform.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector128<byte> Lo, Vector128<byte> Hi) Portable(uint qh)
    {
        // Byte j of a half takes qh byte j / 8 (+ 2 for the high half) and tests bit j % 8 of it.
        var bytes = Vector128.Create(qh).AsByte();
        var lo = Vector128.Shuffle(bytes, Vector128.Create(0ul, 0x0101010101010101).AsByte());
        var hi = Vector128.Shuffle(bytes, Vector128.Create(0x0202020202020202ul, 0x0303030303030303).AsByte());
        var bit = Vector128.Create(0x8040201008040201ul).AsByte();
        var fifth = Vector128.Create((byte)0x10);
        return (Vector128.Equals(lo & bit, bit) & fifth, Vector128.Equals(hi & bit, bit) & fifth);
    }
}
