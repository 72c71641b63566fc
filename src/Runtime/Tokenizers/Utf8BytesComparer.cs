namespace LlamaAot.Tokenizers;

/// <summary>
/// Compares token texts as raw UTF-8 bytes, and lets a dictionary keyed by <c>byte[]</c> be probed with a
/// <see cref="ReadOnlySpan{T}"/> of the input (an alternate lookup), so tokenizing allocates no key per probe.
/// Bytes, not strings, because llama.cpp matches <c>std::string</c> bytes: a lone continuation byte of the input
/// must never match a token whose text happens to be U+FFFD.
/// </summary>
internal sealed class Utf8BytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static Utf8BytesComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var hash = new HashCode();
        hash.AddBytes(alternate);
        return hash.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
