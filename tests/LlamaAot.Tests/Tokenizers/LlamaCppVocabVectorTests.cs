namespace LlamaAot.Tests.Tokenizers;

/// <summary>
/// llama.cpp's own tokenizer test vectors, tokenized like <c>test-tokenizer-0</c>: no BOS, parse_special false.
/// </summary>
public class LlamaCppVocabVectorTests
{
    private static readonly Lazy<(string Text, int[] Ids)[]> s_llamaSpm = new(() => VocabTestVectors.Read(TestVocabularies.LlamaSpmPath));
    private static readonly Lazy<(string Text, int[] Ids)[]> s_phi3 = new(() => VocabTestVectors.Read(TestVocabularies.Phi3Path));

    public static TheoryData<int, string> LlamaSpmCases() => Rows(s_llamaSpm.Value);

    public static TheoryData<int, string> Phi3Cases() => Rows(s_phi3.Value);

    [Fact]
    public void LlamaSpmVectorsHaveFortySixCases() => Assert.Equal(46, s_llamaSpm.Value.Length);

    [Fact]
    public void Phi3VectorsHaveFortySixCases() => Assert.Equal(46, s_phi3.Value.Length);

    /// <summary>The b4748 vectors for the Llama-2 vocabulary (reference/vocab).</summary>
    [Theory]
    [MemberData(nameof(LlamaSpmCases))]
    public void LlamaSpm(int index, string text) =>
        Assert.Equal(s_llamaSpm.Value[index].Ids, TestVocabularies.LlamaSpm.Encode(text, addSpecial: false, parseSpecial: false));

    /// <summary>Phi-3 (reference/tokenizers, a newer llama.cpp whose SPM tokenizer is unchanged): a second SPM
    /// vocabulary with a user-defined <c>&lt;/s&gt;</c> and the Phi-3 strip rule.</summary>
    [Theory]
    [MemberData(nameof(Phi3Cases))]
    public void Phi3(int index, string text) =>
        Assert.Equal(s_phi3.Value[index].Ids, TestVocabularies.Phi3.Encode(text, addSpecial: false, parseSpecial: false));

    private static TheoryData<int, string> Rows((string Text, int[] Ids)[] cases)
    {
        var data = new TheoryData<int, string>();
        for (int i = 0; i < cases.Length; i++)
            data.Add(i, cases[i].Text);
        return data;
    }
}
