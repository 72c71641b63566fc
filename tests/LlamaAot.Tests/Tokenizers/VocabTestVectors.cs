using System.Text;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>
/// Reads llama.cpp's tokenizer test vectors the way <c>tests/test-tokenizer-0.cpp</c> does: the <c>.inp</c> file
/// is split on <c>"\n__ggml_vocab_test__\n"</c>, the <c>.out</c> file has one line of space-separated ids per input.
/// </summary>
internal static class VocabTestVectors
{
    private const string Separator = "\n__ggml_vocab_test__\n";

    public static (string Text, int[] Ids)[] Read(string ggufPath)
    {
        string input = Encoding.UTF8.GetString(File.ReadAllBytes(ggufPath + ".inp"));
        var texts = new List<string>();
        for (int pos = 0; pos < input.Length;)
        {
            int next = input.IndexOf(Separator, pos, StringComparison.Ordinal);
            if (next < 0)
            {
                texts.Add(input[pos..]);
                break;
            }
            texts.Add(input[pos..next]);
            pos = next + Separator.Length;
        }

        string[] lines = File.ReadAllLines(ggufPath + ".out");
        if (lines.Length != texts.Count)
            throw new InvalidDataException($"{ggufPath}: {texts.Count} inputs but {lines.Length} output lines");
        return texts.Select((text, i) => (text, lines[i]
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(int.Parse)
                .ToArray()))
            .ToArray();
    }
}
