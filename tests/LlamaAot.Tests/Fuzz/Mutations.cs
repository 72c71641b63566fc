using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace LlamaAot.Tests.Fuzz;

/// <summary>
/// Seeded mutations of the fuzz test's inputs: bytes (bit flips, boundary integers written over header fields,
/// truncation, deleted and repeated chunks), JSON values (extreme numbers, wrong types, missing or renamed keys) and command-line
/// values (not numbers, overflow, empty, huge).
/// </summary>
internal static class Mutations
{
    /// <summary>Integers at the edges of the sizes a header holds: zero, one, sign bits, the largest of each width.</summary>
    private static readonly ulong[] BoundaryIntegers =
    [
        0, 1, 2, 3, 7, 8, 31, 32, 63, 64, 127, 128, 255, 256, 4095, 4096, 65535, 65536,
        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 100_000_000, 1_000_000_000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, ulong.MaxValue - 1,
    ];

    /// <summary>
    /// One to four mutations of <paramref name="data"/>; those that edit in place aim at [hotStart, hotEnd) (a
    /// file's header and tables, where the sizes are), the others anywhere.
    /// </summary>
    public static byte[] Bytes(byte[] data, Random random, int hotStart = 0, int hotEnd = int.MaxValue)
    {
        var bytes = new List<byte>(data);
        int count = 1 + random.Next(4);
        for (int m = 0; m < count && bytes.Count > 0; m++)
        {
            int end = Math.Min(hotEnd, bytes.Count), start = Math.Min(hotStart, end - 1);
            int at = start + random.Next(end - start);
            switch (random.Next(9))
            {
                case 0: // one bit
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1: // one byte
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 2: // a boundary integer of 1, 2, 4 or 8 bytes, often aligned as header fields are
                case 3:
                case 4:
                {
                    int width = 1 << random.Next(4);
                    if (random.Next(2) == 0)
                        at -= at % width;
                    ulong value = BoundaryIntegers[random.Next(BoundaryIntegers.Length)];
                    if (random.Next(4) == 0)
                        value = unchecked(0 - value); // the negative of it, as a signed field reads it
                    Span<byte> le = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(le, value);
                    for (int i = 0; i < width && at + i < bytes.Count; i++)
                        bytes[at + i] = le[i];
                    break;
                }
                case 5: // cut the file short
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case 6: // drop a chunk
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + random.Next(64)));
                    break;
                case 7: // repeat a chunk
                {
                    int length = Math.Min(bytes.Count - at, 1 + random.Next(64));
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
                }
                default: // random bytes in
                {
                    var noise = new byte[1 + random.Next(16)];
                    random.NextBytes(noise);
                    bytes.InsertRange(at, noise);
                    break;
                }
            }
        }
        return [.. bytes];
    }

    /// <summary>Values a JSON field should never hold, or holds only at its limits.</summary>
    private static readonly Func<Random, JsonNode?>[] OddJsonValues =
    [
        _ => JsonValue.Create(0), _ => JsonValue.Create(-1), _ => JsonValue.Create(1), _ => JsonValue.Create(int.MaxValue),
        _ => JsonValue.Create(2147483648L), _ => JsonValue.Create(100_000_000), _ => JsonValue.Create(long.MaxValue),
        _ => JsonValue.Create(1e308), _ => JsonValue.Create(-1e308), _ => JsonValue.Create(0.5), _ => JsonValue.Create(1e-45),
        _ => JsonValue.Create("x"), _ => JsonValue.Create(""), _ => JsonValue.Create(true), _ => null,
        _ => new JsonArray(), _ => new JsonObject(), r => JsonValue.Create(new string('a', 1 + r.Next(100_000))),
        _ => new JsonArray(JsonValue.Create(1), JsonValue.Create(2)),
    ];

    /// <summary>
    /// Mutates JSON text: one to three values replaced by odd ones, removed, or their keys renamed; sometimes the text
    /// itself is cut or damaged (bytes, as for any file). Text that is not JSON gets byte mutations.
    /// </summary>
    public static byte[] Json(byte[] text, Random random)
    {
        if (random.Next(6) == 0)
            return Bytes(text, random);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return Bytes(text, random);
        }
        if (root is null)
            return Bytes(text, random);
        var places = new List<JsonNode>();
        Collect(root, places);
        int count = 1 + random.Next(3);
        for (int m = 0; m < count && places.Count > 1; m++)
        {
            var node = places[1 + random.Next(places.Count - 1)]; // never the root itself
            var parent = node.Parent!;
            int action = random.Next(8);
            bool remove = action < 2;
            var value = OddJsonValues[random.Next(OddJsonValues.Length)](random);
            if (parent is JsonObject o)
            {
                string key = node.GetPropertyName();
                if (remove)
                {
                    o.Remove(key);
                }
                else if (action == 2) // the key renamed: some keys are data (token ids, tensor names)
                {
                    string renamed = OddKey(random);
                    o.Remove(key);
                    if (!o.ContainsKey(renamed))
                        o[renamed] = node;
                }
                else
                {
                    o[key] = value;
                }
            }
            else if (parent is JsonArray a)
            {
                int index = node.GetElementIndex();
                if (remove)
                    a.RemoveAt(index);
                else
                    a[index] = value;
            }
            places.Clear();
            Collect(root, places);
        }
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    /// <summary>Keys where a file holds data in its keys: not numbers, out of range, empty, huge, control characters.</summary>
    private static string OddKey(Random random) => random.Next(10) switch
    {
        0 => "",
        1 => "x",
        2 => "-1",
        3 => "1e3",
        4 => "2147483648",
        5 => " 7",
        6 => "\u0000\u001b[2J",
        7 => new string('k', 1 + random.Next(100_000)),
        _ => random.Next(1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        if (node is JsonObject o)
        {
            foreach (var (_, child) in o)
            {
                if (child is not null)
                    Collect(child, into);
            }
        }
        else if (node is JsonArray a)
        {
            // Long arrays (a vocabulary, a tensor's data offsets) are sampled, not walked whole.
            for (int i = 0; i < a.Count; i += Math.Max(1, a.Count / 64))
            {
                if (a[i] is { } child)
                    Collect(child, into);
            }
        }
    }

    /// <summary>Command-line values that are not what an option takes, or are at the edge of what it takes.</summary>
    private static readonly string[] OddArguments =
    [
        "", " ", "-1", "0", "1", "-0", "+3", " 3", "3 ", "0x10", "1.5", "1e3", "1e309", "-1e309", "nan", "NaN", "inf", "-inf",
        "abc", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296", "99999999999", "9223372036854775808",
        "100000", "512", "513", "\u00e9", "--", "-", "-x", "--no-such-flag", "/nonexistent/file", "/", ".", "/dev/null",
        "on", "off", "auto", "f16", "f32", "q4_0", "Q4_0", "17",
    ];

    /// <summary>An odd argument, sometimes a very long one.</summary>
    public static string OddArgument(Random random) =>
        random.Next(40) == 0 ? new string('9', 1 + random.Next(20_000)) : OddArguments[random.Next(OddArguments.Length)];

    /// <summary>
    /// A text format's mutation (a template, a grammar, a schema): the bytes one time in five; otherwise one to three
    /// edits of the text, each cutting or repeating up to <paramref name="maxLength"/> characters or splicing in one
    /// of <paramref name="fragments"/>.
    /// </summary>
    public static byte[] Splice(byte[] bytes, Random random, string[] fragments, int maxLength)
    {
        if (random.Next(5) == 0)
            return Bytes(bytes, random);
        var text = new StringBuilder(Encoding.UTF8.GetString(bytes));
        int count = 1 + random.Next(3);
        for (int m = 0; m < count; m++)
        {
            int at = random.Next(text.Length + 1), length = Math.Min(text.Length - at, random.Next(maxLength));
            switch (random.Next(4))
            {
                case 0:
                    text.Remove(at, length);
                    break;
                case 1:
                    text.Insert(at, text.ToString(at, length));
                    break;
                default:
                    text.Insert(at, fragments[random.Next(fragments.Length)]);
                    break;
            }
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
