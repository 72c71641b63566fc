namespace LlamaAot.Tests.Tokenizers;

/// <summary>
/// A long check behind a flag: the 1 MB texts of the speed check (<c>bench/tokenizer-corpus.py DIR</c>) tokenized
/// like llama.cpp 0.5.0's <c>llama-tokenize -m ggml-vocab-NAME.gguf -f DIR/TEXT.txt --ids --no-escape --log-disable &gt;
/// DIR/NAME-TEXT.ids</c> (BOS added as the vocabulary says, special tokens parsed). Set
/// <c>LLAMA_AOT_TOKENIZER_CORPUS=DIR</c> to run it on every <c>NAME-TEXT.ids</c> file there.
/// </summary>
public class CorpusTests
{
    private static string? Directory => Environment.GetEnvironmentVariable("LLAMA_AOT_TOKENIZER_CORPUS");

    public static TheoryData<string> IdFiles()
    {
        var data = new TheoryData<string>();
        if (Directory is { } dir && System.IO.Directory.Exists(dir))
        {
            foreach (string path in System.IO.Directory.GetFiles(dir, "*.ids").Order(StringComparer.Ordinal))
                data.Add(Path.GetFileName(path));
        }
        return data;
    }

    private sealed class CorpusTheoryAttribute : TheoryAttribute
    {
        public CorpusTheoryAttribute()
        {
            if (Directory is null)
                Skip = "a long check: set LLAMA_AOT_TOKENIZER_CORPUS to a directory of llama-tokenize outputs";
        }
    }

    [CorpusTheory]
    [MemberData(nameof(IdFiles))]
    public void TokenizesTheCorpusLikeLlamaCpp(string idFile)
    {
        string name = Path.GetFileNameWithoutExtension(idFile);
        int dash = name.LastIndexOf('-');
        var tokenizer = TestVocabularies.Reference(name[..dash]);
        byte[] text = File.ReadAllBytes(Path.Combine(Directory!, name[(dash + 1)..] + ".txt"));
        int[] expected = File.ReadAllText(Path.Combine(Directory!, idFile)).Trim().Trim('[', ']')
            .Split(", ", StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        int[] actual = tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
        int first = 0;
        while (first < Math.Min(expected.Length, actual.Length) && expected[first] == actual[first])
            first++;
        Assert.True(first == expected.Length && first == actual.Length,
            $"{expected.Length} ids expected, {actual.Length} produced; first difference at {first}: " +
            $"llama.cpp [{string.Join(' ', expected.Skip(first).Take(8))}] ours [{string.Join(' ', actual.Skip(first).Take(8))}]");
    }
}
