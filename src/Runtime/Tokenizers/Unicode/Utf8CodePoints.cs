using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Tokenizers;

/// <summary>
/// UTF-8 to code points and back exactly as llama.cpp 0.5.0 does it (src/unicode.cpp), which is laxer than the
/// standard: overlong forms and surrogates decode to their values, and lead bytes F5..F7 give values up to
/// 0x1FFFFF, beyond Unicode.
/// </summary>
internal static class Utf8CodePoints
{
    /// <summary>The replacement for each byte llama.cpp cannot decode.</summary>
    public const int Replacement = 0xFFFD;

    /// <summary>Appends the code points of <c>unicode_cpts_from_utf8(utf8)</c>.</summary>
    public static void Decode(ReadOnlySpan<byte> utf8, List<int> codePoints)
    {
        int count = codePoints.Count;
        CollectionsMarshal.SetCount(codePoints, count + utf8.Length);
        int decoded = Decode(utf8, CollectionsMarshal.AsSpan(codePoints)[count..]);
        CollectionsMarshal.SetCount(codePoints, count + decoded);
    }

    /// <summary>
    /// <c>unicode_cpts_from_utf8</c>: writes the code points of <paramref name="utf8"/> to <paramref name="codePoints"/>
    /// (which needs room for one per byte) and returns how many there are. A byte that does not start a complete
    /// sequence (<c>unicode_cpt_from_utf8</c> throws) becomes <see cref="Replacement"/> and decoding resumes at
    /// the next byte: a truncated sequence gives one replacement for its lead byte, then one per continuation byte.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> utf8, Span<int> codePoints)
    {
        if (codePoints.Length < utf8.Length)
            throw new ArgumentException($"room for {utf8.Length} code points needed, {codePoints.Length} given", nameof(codePoints));
        ref byte src = ref MemoryMarshal.GetReference(utf8);
        ref int dst = ref MemoryMarshal.GetReference(codePoints);
        int n = utf8.Length, at = 0, count = 0;
        while (at < n)
        {
            // ASCII 16 bytes at a time: widened byte -> int, the common case of English text and code.
            while (at + Vector128<byte>.Count <= n)
            {
                var bytes = Vector128.LoadUnsafe(ref src, (nuint)at);
                if (bytes.ExtractMostSignificantBits() != 0)
                    break;
                (var low, var high) = Vector128.Widen(bytes);
                (var w0, var w1) = Vector128.Widen(low);
                (var w2, var w3) = Vector128.Widen(high);
                ref int d = ref Unsafe.Add(ref dst, count);
                w0.AsInt32().StoreUnsafe(ref d);
                w1.AsInt32().StoreUnsafe(ref d, 4);
                w2.AsInt32().StoreUnsafe(ref d, 8);
                w3.AsInt32().StoreUnsafe(ref d, 12);
                at += Vector128<byte>.Count;
                count += Vector128<byte>.Count;
            }
            if (at >= n)
                break;
            Unsafe.Add(ref dst, count++) = DecodeOne(ref src, n, ref at);
        }
        return count;
    }

    /// <summary><c>unicode_cpt_from_utf8</c> at <paramref name="at"/>, with <c>unicode_cpts_from_utf8</c>'s
    /// fallback; advances <paramref name="at"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DecodeOne(ref byte src, int n, ref int at)
    {
        int b0 = Unsafe.Add(ref src, at);
        if (b0 < 0x80)
        {
            at++;
            return b0;
        }
        // 110xxxxx, 1110xxxx, 11110xxx need 1, 2, 3 continuation bytes; 10xxxxxx and 11111xxx are invalid.
        int more = b0 < 0xC0 ? -1 : b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : b0 < 0xF8 ? 3 : -1;
        if (more < 0 || at + more >= n)
        {
            at++;
            return Replacement;
        }
        int cp = b0 & (0x7F >> (more + 1));
        for (int i = 1; i <= more; i++)
        {
            int b = Unsafe.Add(ref src, at + i);
            if ((b & 0xC0) != 0x80)
            {
                at++;
                return Replacement;
            }
            cp = (cp << 6) | (b & 0x3F);
        }
        at += more + 1;
        return cp;
    }

    /// <summary>Appends <c>unicode_cpt_to_utf8(codePoint)</c>.</summary>
    /// <inheritdoc cref="Encode(int, Span{byte})"/>
    public static void Encode(int codePoint, List<byte> utf8)
    {
        Span<byte> bytes = stackalloc byte[4];
        int length = Encode(codePoint, bytes);
        for (int i = 0; i < length; i++)
            utf8.Add(bytes[i]);
    }

    /// <summary><c>unicode_cpt_to_utf8</c>: writes 1 to 4 bytes (surrogates are encoded like any other value)
    /// and returns how many.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is above 0x10FFFF (llama.cpp throws
    /// <c>invalid_argument("invalid codepoint")</c>; <c>llama-tokenize</c> aborts on such input).</exception>
    public static int Encode(int codePoint, Span<byte> utf8)
    {
        uint cp = (uint)codePoint;
        if (cp <= 0x7F)
        {
            utf8[0] = (byte)cp;
            return 1;
        }
        if (cp <= 0x7FF)
        {
            utf8[1] = (byte)(0x80 | (cp & 0x3F));
            utf8[0] = (byte)(0xC0 | (cp >> 6));
            return 2;
        }
        if (cp <= 0xFFFF)
        {
            utf8[2] = (byte)(0x80 | (cp & 0x3F));
            utf8[1] = (byte)(0x80 | ((cp >> 6) & 0x3F));
            utf8[0] = (byte)(0xE0 | (cp >> 12));
            return 3;
        }
        if (cp <= 0x10FFFF)
        {
            utf8[3] = (byte)(0x80 | (cp & 0x3F));
            utf8[2] = (byte)(0x80 | ((cp >> 6) & 0x3F));
            utf8[1] = (byte)(0x80 | ((cp >> 12) & 0x3F));
            utf8[0] = (byte)(0xF0 | (cp >> 18));
            return 4;
        }
        throw new ArgumentOutOfRangeException(nameof(codePoint), $"invalid code point 0x{cp:X} (above U+10FFFF)");
    }
}
