using System.Runtime.CompilerServices;

namespace LlamaAot.Quants;

/// <summary>Rounding helpers with ggml's exact semantics.</summary>
public static class QuantMath
{
    /// <summary>
    /// ggml's nearest_int: adds 1.5 * 2^23 so the float unit rounds the value to an integer (round half to even),
    /// valid for |x| &lt;= 4194303.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float x)
    {
        float val = x + 12582912f;
        int i = BitConverter.SingleToInt32Bits(val);
        return (i & 0x007fffff) - 0x00400000;
    }
}
