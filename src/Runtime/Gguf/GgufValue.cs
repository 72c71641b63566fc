namespace LlamaAot.Gguf;

/// <summary>Metadata value types as numbered in the GGUF format (<c>enum gguf_type</c>). Never renumber.</summary>
public enum GgufValueType : uint
{
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
}

/// <summary>
/// One metadata value. <see cref="Value"/> holds the CLR value of <see cref="Type"/>: byte, sbyte, ushort, short,
/// uint, int, float, bool, string, <see cref="GgufArray"/>, ulong, long or double.
/// </summary>
public sealed record GgufValue(GgufValueType Type, object Value)
{
    /// <summary>The value as a signed 64-bit integer, if it is an integer (or bool) that fits.</summary>
    public bool TryGetInt64(out long result)
    {
        switch (Value)
        {
            case byte v: result = v; return true;
            case sbyte v: result = v; return true;
            case ushort v: result = v; return true;
            case short v: result = v; return true;
            case uint v: result = v; return true;
            case int v: result = v; return true;
            case long v: result = v; return true;
            case ulong v when v <= long.MaxValue: result = (long)v; return true;
            case bool v: result = v ? 1 : 0; return true;
            default: result = 0; return false;
        }
    }

    /// <summary>The value as a double, if it is any number.</summary>
    public bool TryGetDouble(out double result)
    {
        switch (Value)
        {
            case float v: result = v; return true;
            case double v: result = v; return true;
            default:
                bool ok = TryGetInt64(out long l);
                result = l;
                return ok;
        }
    }

    public override string ToString() => Value switch
    {
        string s => s,
        GgufArray a => a.ToString(),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => Value.ToString() ?? "",
    };
}

/// <summary>
/// An array value: <see cref="Items"/> is a typed CLR array (byte[], int[], float[], string[], GgufArray[] for
/// nested arrays, ...) of <see cref="ElementType"/>.
/// </summary>
public sealed record GgufArray(GgufValueType ElementType, Array Items)
{
    public int Count => Items.Length;

    public override string ToString() => $"[{ElementType} x {Items.Length}]";
}
