using System.Text.Json;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>
/// Every case of <c>reference/stories260K/tokenizer-cases.json</c>: llama.cpp b4748's <c>llama_tokenize</c> ids,
/// <c>llama_token_to_piece(special = true)</c> bytes, and <c>llama_detokenize</c> text with special tokens kept
/// (remove_special = false, unparse_special = true) and removed (remove_special = true, unparse_special = false),
/// for each text with and without BOS and with and without parse_special.
/// </summary>
public class Stories260KCaseTests
{
    private static readonly Lazy<JsonElement[]> s_cases = new(() =>
    {
        string path = Path.Combine(Shared.Reference, "stories260K", "tokenizer-cases.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
    });

    /// <summary>Variant name in the JSON -> (add_special, parse_special).</summary>
    private static readonly Dictionary<string, (bool AddSpecial, bool ParseSpecial)> s_variants = new()
    {
        ["bos"] = (true, false),
        ["bos_parse_special"] = (true, true),
        ["nobos"] = (false, false),
        ["nobos_parse_special"] = (false, true),
    };

    /// <summary>(case index, variant, text): one row per case and variant.</summary>
    public static TheoryData<int, string, string> CasesWithText()
    {
        var data = new TheoryData<int, string, string>();
        for (int i = 0; i < s_cases.Value.Length; i++)
        {
            foreach (string variant in s_variants.Keys)
                data.Add(i, variant, s_cases.Value[i].GetProperty("text").GetString()!);
        }
        return data;
    }

    /// <summary>(case index, variant): one row per case and variant, for tests that start from llama.cpp's ids.</summary>
    public static TheoryData<int, string> Cases()
    {
        var data = new TheoryData<int, string>();
        for (int i = 0; i < s_cases.Value.Length; i++)
        {
            foreach (string variant in s_variants.Keys)
                data.Add(i, variant);
        }
        return data;
    }

    [Fact]
    public void FileHasAllFortyCasesWithEveryVariant()
    {
        Assert.Equal(40, s_cases.Value.Length);
        Assert.All(s_cases.Value, c => Assert.All(s_variants.Keys, v => Assert.True(c.TryGetProperty(v, out _), v)));
    }

    [Theory]
    [MemberData(nameof(CasesWithText))]
    public void EncodeMatchesLlamaCpp(int index, string variant, string text)
    {
        var (addSpecial, parseSpecial) = s_variants[variant];
        int[] ids = TestVocabularies.Stories260K.Encode(text, addSpecial, parseSpecial);
        Assert.Equal(Expected(index, variant).GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), ids);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PiecesMatchLlamaCpp(int index, string variant)
    {
        var expected = Expected(index, variant);
        int[] ids = ReferenceIds(expected);
        string[] pieces = ids.Select(id => Convert.ToHexStringLower(TestVocabularies.Stories260K.TokenToPiece(id, special: true))).ToArray();
        Assert.Equal(expected.GetProperty("pieces_hex").EnumerateArray().Select(e => e.GetString()!), pieces);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeKeepingSpecialMatchesLlamaCpp(int index, string variant)
    {
        var expected = Expected(index, variant);
        string decoded = TestVocabularies.Stories260K.Decode(ReferenceIds(expected), removeSpecial: false, unparseSpecial: true);
        Assert.Equal(expected.GetProperty("detok_keep_special").GetString(), decoded);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeRemovingSpecialMatchesLlamaCpp(int index, string variant)
    {
        var expected = Expected(index, variant);
        string decoded = TestVocabularies.Stories260K.Decode(ReferenceIds(expected), removeSpecial: true, unparseSpecial: false);
        Assert.Equal(expected.GetProperty("detok_remove_special").GetString(), decoded);
    }

    private static JsonElement Expected(int index, string variant) => s_cases.Value[index].GetProperty(variant);

    private static int[] ReferenceIds(JsonElement expected) =>
        expected.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
}
