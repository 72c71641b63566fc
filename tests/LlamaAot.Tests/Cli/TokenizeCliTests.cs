using System.Text;
using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// <c>llama-aot tokenize</c>: standard output byte for byte llama.cpp 0.5.0's <c>llama-tokenize</c>'s, on vocabulary-only
/// GGUFs and on a full model; clear errors otherwise.
/// </summary>
public class TokenizeCliTests
{
    private static string LlamaSpm => Path.Combine(Shared.Reference, "tokenizers", "ggml-vocab-llama-spm.gguf");

    private static string Phi3 => Path.Combine(Shared.Reference, "tokenizers", "ggml-vocab-phi-3.gguf");

    /// <summary>The bytes of the INVALID_UTF8 file: a zero byte, two bytes that start no UTF-8 character, a newline.</summary>
    private static readonly byte[] InvalidUtf8 = [(byte)'a', 0, (byte)'b', 0xFF, 0xFE, (byte)' ', (byte)'c', (byte)'\n'];

    /// <summary>
    /// Each Expected is the standard output of llama.cpp 0.5.0's <c>llama-tokenize</c> (built as TOOLCHAIN.md says,
    /// <c>build-native/bin/llama-tokenize</c>) run with the same arguments: LLAMA_SPM and PHI3 are
    /// <c>../shared/reference/tokenizers/ggml-vocab-{llama-spm,phi-3}.gguf</c>, STORIES
    /// <c>../shared/models/stories260K/stories260K-Q4_0.gguf</c>, INVALID_UTF8 a file holding <see cref="InvalidUtf8"/>,
    /// EMPTY an empty file. Output bytes that are not UTF-8 are written \xHH (see <see cref="Render"/>): the byte-fallback
    /// pieces of an emoji, and of the invalid input, come out one byte per line, as llama-tokenize prints them.
    /// </summary>
    private static readonly (string Name, string[] Args, string Expected)[] Cases =
    [
        ("special-parsed", ["-m", "LLAMA_SPM", "-p", "Hello <s> world 😀"],
            "     1 -> '<s>'\n 15043 -> ' Hello'\n 29871 -> ' '\n     1 -> '<s>'\n 29871 -> ' '\n  3186 -> ' world'\n 29871 -> ' '\n   243 -> '\\xF0'\n   162 -> '\\x9F'\n   155 -> '\\x98'\n   131 -> '\\x80'\n"),
        ("special-not-parsed", ["-m", "LLAMA_SPM", "-p", "Hello <s> world 😀", "--no-parse-special"],
            "     1 -> '<s>'\n 15043 -> ' Hello'\n   529 -> ' <'\n 29879 -> 's'\n 29958 -> '>'\n  3186 -> ' world'\n 29871 -> ' '\n   243 -> '\\xF0'\n   162 -> '\\x9F'\n   155 -> '\\x98'\n   131 -> '\\x80'\n"),
        ("ids", ["-m", "LLAMA_SPM", "-p", "Hello <s> world 😀", "--ids"],
            "[1, 15043, 29871, 1, 29871, 3186, 29871, 243, 162, 155, 131]\n"),
        ("invalid-utf8-file", ["-m", "LLAMA_SPM", "-f", "INVALID_UTF8"],
            "     1 -> '<s>'\n   263 -> ' a'\n     3 -> ''\n 29890 -> 'b'\n   258 -> '\\xFF'\n   257 -> '\\xFE'\n   229 -> '\\xE2'\n   153 -> '\\x96'\n   132 -> '\\x81'\n 29883 -> 'c'\n    13 -> '\n'\n"),
        ("invalid-utf8-file-ids-no-bos", ["-m", "LLAMA_SPM", "-f", "INVALID_UTF8", "--ids", "--no-bos"],
            "[263, 3, 29890, 258, 257, 229, 153, 132, 29883, 13]\n"),
        ("empty-file", ["-m", "LLAMA_SPM", "-f", "EMPTY"],
            "     1 -> '<s>'\n"),
        ("empty-file-ids-no-bos", ["-m", "LLAMA_SPM", "-f", "EMPTY", "--ids", "--no-bos"],
            "[]\n"),
        ("phi3-chat", ["-m", "PHI3", "-p", "<|user|>\\nCafé? 🦙<|end|>\\n<|assistant|>"],
            "     1 -> '<s>'\n 32010 -> '<|user|>'\n   315 -> ' C'\n 28059 -> 'afé'\n 29973 -> '?'\n 29871 -> ' '\n   243 -> '\\xF0'\n   162 -> '\\x9F'\n   169 -> '\\xA6'\n   156 -> '\\x99'\n 32007 -> '<|end|>'\n 32001 -> '<|assistant|>'\n"),
        ("phi3-chat-not-parsed", ["-m", "PHI3", "-p", "<|user|>\\nCafé? 🦙<|end|>\\n<|assistant|>", "--no-parse-special", "--ids"],
            "[1, 529, 29989, 1792, 29989, 29958, 13, 29907, 28059, 29973, 29871, 243, 162, 169, 156, 29966, 29989, 355, 29989, 29958, 13, 29966, 29989, 465, 22137, 29989, 29958]\n"),
        ("full-model", ["-m", "STORIES", "-p", "Once upon a time, Lily</s>"],
            "     1 -> '<s>'\n   403 -> ' Once'\n   407 -> ' upon'\n   261 -> ' a'\n   378 -> ' time'\n   432 -> ','\n   317 -> ' Lily'\n     2 -> '</s>'\n"),
        ("full-model-count", ["-m", "STORIES", "-p", "Once upon a time, Lily</s>", "--ids", "--no-parse-special", "--show-count"],
            "[1, 403, 407, 261, 378, 432, 317, 504, 492, 419, 505]\nTotal number of tokens: 11\n"),
    ];

    public static TheoryData<string> CaseNames() => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void PrintsWhatLlamaTokenizePrints(string name)
    {
        var (_, args, expected) = Cases.Single(c => c.Name == name);
        using var dir = new Conversion.ConvertFixture.ScratchDirectory();
        File.WriteAllBytes(dir.File("invalid.txt"), InvalidUtf8);
        File.WriteAllBytes(dir.File("empty.txt"), []);
        string Resolve(string a) => a switch
        {
            "LLAMA_SPM" => LlamaSpm,
            "PHI3" => Phi3,
            "STORIES" => Shared.Stories260K("Q4_0"),
            "INVALID_UTF8" => dir.File("invalid.txt"),
            "EMPTY" => dir.File("empty.txt"),
            _ => a,
        };
        var r = LlamaAotProcess.RunBytes(["tokenize", .. args.Select(Resolve)]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(expected, Render(r.Stdout));
        Assert.Equal("", r.Stderr);
    }

    /// <summary>An empty -p (which llama-tokenize refuses as "no prompt") is tokenized: BOS alone, as an empty file.</summary>
    [Fact]
    public void EmptyPromptIsBosAlone()
    {
        var r = LlamaAotProcess.Run("tokenize", "-m", LlamaSpm, "-p", "");
        Assert.Equal((0, "     1 -> '<s>'\n"), (r.ExitCode, r.Stdout));
        r = LlamaAotProcess.Run("tokenize", "-m", LlamaSpm, "-p", "", "--ids", "--no-bos");
        Assert.Equal((0, "[]\n"), (r.ExitCode, r.Stdout));
    }

    /// <summary>Standard input, read whole after the model, is a prompt like a file: escapes processed, newline kept.</summary>
    [Fact]
    public void StandardInputIsReadLikeAFile()
    {
        using var dir = new Conversion.ConvertFixture.ScratchDirectory();
        string prompt = dir.File("prompt.txt");
        File.WriteAllText(prompt, "Hi <s>\\tthere\n");
        var fromFile = LlamaAotProcess.Run("tokenize", "-m", LlamaSpm, "-f", prompt, "--ids");
        var fromStdin = LlamaAotProcess.RunRedirected($"< '{prompt}'", "tokenize", "-m", LlamaSpm, "--stdin", "--ids");
        Assert.True(fromStdin.ExitCode == 0, fromStdin.Stderr);
        // llama-tokenize: [1, 6324, 29871, 1, 29871, 12, 12711, 13] (\t an escape, the trailing newline token 13).
        Assert.Equal("[1, 6324, 29871, 1, 29871, 12, 12711, 13]\n", fromFile.Stdout);
        Assert.Equal(fromFile.Stdout, fromStdin.Stdout);
    }

    /// <summary>
    /// Only the vocabulary is read: a GGUF holding nothing but the <c>tokenizer.*</c> keys (no architecture, no
    /// tensors) tokenizes as the file it came from.
    /// </summary>
    [Fact]
    public void NeedsNoArchitectureNorTensors()
    {
        using var dir = new Conversion.ConvertFixture.ScratchDirectory();
        string bare = dir.File("bare.gguf");
        var writer = new GgufWriter();
        using (var source = GgufFile.Open(LlamaSpm))
            LlamaGgufMetadata.CopyVocabulary(writer, source.Metadata);
        writer.WriteTo(bare);

        var r = LlamaAotProcess.Run("tokenize", "-m", bare, "-p", "Hello <s> world", "--ids");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("[1, 15043, 29871, 1, 29871, 3186]\n", r.Stdout);
    }

    /// <summary>A tokenizer kind llama-aot does not implement, or no tokenizer at all: one error line, exit 1.</summary>
    [Theory]
    [InlineData("rwkv", "not supported: tokenizer model 'rwkv'")]
    [InlineData(null, "missing metadata key 'tokenizer.ggml.model'")]
    public void UnsupportedVocabularyIsOneErrorLine(string? model, string expected)
    {
        using var dir = new Conversion.ConvertFixture.ScratchDirectory();
        string path = dir.File("vocab.gguf");
        var writer = new GgufWriter();
        writer.Add("general.architecture", "llama");
        if (model is not null)
            writer.Add("tokenizer.ggml.model", model);
        writer.Add("tokenizer.ggml.tokens", new[] { "a", "b" });
        writer.WriteTo(path);

        var r = LlamaAotProcess.Run("tokenize", "-m", path, "-p", "ab");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(expected, line);
    }

    [Theory]
    [InlineData(2, "give the prompt with exactly one of -p, -f or --stdin", "-m", "LLAMA_SPM")]
    [InlineData(2, "give the prompt with exactly one of -p, -f or --stdin", "-m", "LLAMA_SPM", "-p", "a", "-f", "LLAMA_SPM")]
    [InlineData(2, "give the prompt with exactly one of -p, -f or --stdin", "-m", "LLAMA_SPM", "-p", "a", "--stdin")]
    [InlineData(2, "'--model' is required", "-p", "a")]
    [InlineData(2, "Unrecognized command or argument '--bogus'", "-m", "LLAMA_SPM", "-p", "a", "--bogus")]
    [InlineData(1, "file not found: /nonexistent/prompt.txt", "-m", "LLAMA_SPM", "-f", "/nonexistent/prompt.txt")]
    [InlineData(1, "file not found: /nonexistent/model.gguf", "-m", "/nonexistent/model.gguf", "-p", "a")]
    public void BadCommandLinesAndMissingFilesSayWhy(int exitCode, string expected, params string[] args)
    {
        var r = LlamaAotProcess.Run(["tokenize", .. args.Select(a => a == "LLAMA_SPM" ? LlamaSpm : a)]);
        Assert.Equal(exitCode, r.ExitCode);
        Assert.Equal("", r.Stdout);
        string line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(expected, line);
    }

    /// <summary>Output bytes as text: UTF-8 characters as they are, every byte that is not part of one as \xHH.</summary>
    private static string Render(byte[] bytes)
    {
        var text = new StringBuilder();
        for (int i = 0; i < bytes.Length;)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes.AsSpan(i), out var rune, out int length) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
                i += length;
            }
            else
            {
                text.Append($"\\x{bytes[i]:X2}");
                i++;
            }
        }
        return text.ToString();
    }
}
