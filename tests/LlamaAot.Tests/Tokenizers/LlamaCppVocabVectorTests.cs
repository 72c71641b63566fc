using System.Text;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>
/// llama.cpp's own tokenizer test vectors, tokenized like <c>test-tokenizer-0</c>: no BOS, parse_special false.
/// Each vocabulary of <c>reference/tokenizers</c> (llama.cpp 0.5.0) runs its vectors, and each of
/// <c>reference/vocab</c> (b4748) runs its vectors with the GGUF of the same name, from <c>reference/tokenizers</c>
/// where it has none of its own.
/// </summary>
public class LlamaCppVocabVectorTests
{
    public static TheoryData<string> Current() => new(TestVocabularies.ReferenceNames);

    public static TheoryData<string> Older() => new("gpt-2", "llama-bpe", "llama-spm", "qwen2");

    [Theory]
    [MemberData(nameof(Current))]
    public void TokenizesLikeLlamaCpp(string vocabulary) =>
        AssertVectors(TestVocabularies.Reference(vocabulary), TestVocabularies.ReferencePath(vocabulary));

    [Theory]
    [MemberData(nameof(Older))]
    public void TokenizesLikeOlderLlamaCpp(string vocabulary)
    {
        string vectors = Path.Combine(Shared.Reference, "vocab", $"ggml-vocab-{vocabulary}.gguf");
        var tokenizer = File.Exists(vectors) ? TestVocabularies.Load(vectors) : TestVocabularies.Reference(vocabulary);
        AssertVectors(tokenizer, vectors);
    }

    /// <summary>
    /// detokenize(tokenize(s)) == s for every vector, except by these rules: a vocabulary with clean_spaces gives the
    /// text with llama.cpp's space cleaning applied (spaces before <c>?!.,</c> and some apostrophes go); WordPiece
    /// is left out (it lower-cases, strips accents and splits punctuation off: its output is not the text). Streaming
    /// decoding is checked alongside.
    /// </summary>
    [Theory]
    [MemberData(nameof(Current))]
    public void DetokenizesBackToTheText(string vocabulary)
    {
        var tokenizer = TestVocabularies.Reference(vocabulary);
        if (tokenizer.Vocabulary.Type == LlamaAot.Tokenizers.VocabularyType.Wpm)
            return;
        var failures = new StringBuilder();
        foreach (var (text, _) in VocabTestVectors.Read(TestVocabularies.ReferencePath(vocabulary)))
        {
            string expected = tokenizer.Vocabulary.CleanSpaces
                ? Encoding.UTF8.GetString(LlamaAot.Tokenizers.Tokenizer.CleanSpaces(Encoding.UTF8.GetBytes(text)))
                : text;
            int[] ids = tokenizer.Encode(text, addSpecial: false, parseSpecial: false);
            string actual = tokenizer.Decode(ids, removeSpecial: false, unparseSpecial: false);
            if (actual != expected)
                failures.Append($"\n{Quote(text)} -> {Quote(actual)}");

            // Streamed one token at a time, the raw pieces (no space cleaning; SPM's added space kept) give the text,
            // characters split across byte tokens included.
            var stream = new LlamaAot.Tokenizers.StreamingDecoder(tokenizer);
            string streamed = string.Concat(ids.Select(stream.Push)) + stream.Flush();
            string raw = (tokenizer.Vocabulary.AddSpacePrefix && text.Length > 0 ? " " : "") + text;
            if (streamed != raw)
                failures.Append($"\n{Quote(text)} streamed -> {Quote(streamed)}");
        }
        Assert.True(failures.Length == 0, $"round trips that differ:{failures}");
    }

    private static void AssertVectors(LlamaAot.Tokenizers.Tokenizer tokenizer, string vectorPath)
    {
        var cases = VocabTestVectors.Read(vectorPath);
        Assert.NotEmpty(cases);
        var failures = new StringBuilder();
        foreach (var (text, ids) in cases)
        {
            int[] actual = tokenizer.Encode(text, addSpecial: false, parseSpecial: false);
            if (!actual.AsSpan().SequenceEqual(ids))
                failures.Append($"\n{Quote(text)}\n  llama.cpp: [{string.Join(' ', ids)}]\n  ours:      [{string.Join(' ', actual)}]");
        }
        Assert.True(failures.Length == 0, $"{cases.Length} cases, mismatches:{failures}");
    }

    internal static string Quote(string text) =>
        "'" + text.Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "'";
}
