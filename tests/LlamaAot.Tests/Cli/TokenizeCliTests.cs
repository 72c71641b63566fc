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
    /// <c>build-native/bin/llama-tokenize</c>) run with the same arguments: LLAMA_SPM, PHI3, LLAMA_BPE, QWEN2, GEMMA4
    /// and BERT are <c>../shared/reference/tokenizers/ggml-vocab-{llama-spm,phi-3,llama-bpe,qwen2,gemma-4,bert-bge}.gguf</c>, STORIES
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
        ("llama3-chat", ["-m", "LLAMA_BPE", "-p", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\\n\\nHi there! It's 2026, isn't it? 🦙 日本語<|eot_id|>"],
            "128000 -> '<|begin_of_text|>'\n128000 -> '<|begin_of_text|>'\n128006 -> '<|start_header_id|>'\n   882 -> 'user'\n128007 -> '<|end_header_id|>'\n   271 -> '\n\n'\n 13347 -> 'Hi'\n  1070 -> ' there'\n     0 -> '!'\n  1102 -> ' It'\n   596 -> ''s'\n   220 -> ' '\n  2366 -> '202'\n    21 -> '6'\n    11 -> ','\n  4536 -> ' isn'\n   956 -> ''t'\n   433 -> ' it'\n    30 -> '?'\n 11410 -> ' \\xF0\\x9F'\n    99 -> '\\xA6'\n   247 -> '\\x99'\n105180 -> ' 日本'\n102158 -> '語'\n128009 -> '<|eot_id|>'\n"),
        ("llama3-chat-not-parsed", ["-m", "LLAMA_BPE", "-p", "<|begin_of_text|>Hi  there!\\r\\n  12345 🦙<|eot_id|>", "--no-parse-special", "--ids"],
            "[128000, 27, 91, 7413, 3659, 4424, 91, 29, 13347, 220, 1070, 46726, 220, 220, 4513, 1774, 11410, 99, 247, 27, 91, 68, 354, 851, 91, 29]\n"),
        ("llama3-invalid-utf8", ["-m", "LLAMA_BPE", "-f", "INVALID_UTF8"],
            "128000 -> '<|begin_of_text|>'\n    64 -> 'a'\n   188 -> ''\n    65 -> 'b'\n 10178 -> '��'\n   272 -> ' c'\n   198 -> '\n'\n"),
        ("qwen2-chat", ["-m", "QWEN2", "-p", "<|im_start|>user\\nCafé 12345, 你好 😀!<|im_end|>\\n<|im_start|>assistant\\n"],
            "151644 -> '<|im_start|>'\n   872 -> 'user'\n   198 -> '\n'\n    34 -> 'C'\n  2577 -> 'af'\n   963 -> 'é'\n   220 -> ' '\n    16 -> '1'\n    17 -> '2'\n    18 -> '3'\n    19 -> '4'\n    20 -> '5'\n    11 -> ','\n   220 -> ' '\n108386 -> '你好'\n 90316 -> ' 😀'\n     0 -> '!'\n151645 -> '<|im_end|>'\n   198 -> '\n'\n151644 -> '<|im_start|>'\n 77091 -> 'assistant'\n   198 -> '\n'\n"),
        ("qwen2-no-bos-ids", ["-m", "QWEN2", "-p", "  leading spaces\\tand tabs  ", "--ids", "--no-bos"],
            "[220, 6388, 12621, 52477, 22398, 256]\n"),
        ("gemma4", ["-m", "GEMMA4", "-p", "Hello  world\\n\\n\\nCafé 🦙 <eos>"],
            "     2 -> '<bos>'\n  9259 -> 'Hello'\n   138 -> '  '\n 12392 -> 'world'\n   109 -> '\n\n\n'\n160319 -> 'Caf'\n236859 -> 'é'\n236743 -> ' '\n   478 -> '\\xF0'\n   397 -> '\\x9F'\n   404 -> '\\xA6'\n   391 -> '\\x99'\n236743 -> ' '\n     1 -> '<eos>'\n"),
        ("bert", ["-m", "BERT", "-p", "Hello, WORLD! Äpfel [SEP] 你好"],
            "   101 -> '[CLS]'\n  7592 -> ' hello'\n  1010 -> ' ,'\n  2088 -> ' world'\n   999 -> ' !'\n  9706 -> ' ap'\n  7959 -> 'fe'\n  2140 -> 'l'\n   102 -> '[SEP]'\n   100 -> '[UNK]'\n   100 -> '[UNK]'\n   102 -> '[SEP]'\n"),
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
            "LLAMA_BPE" or "QWEN2" or "GEMMA4" or "BERT" => Path.Combine(Shared.Reference, "tokenizers",
                $"ggml-vocab-{a switch { "LLAMA_BPE" => "llama-bpe", "QWEN2" => "qwen2", "GEMMA4" => "gemma-4", _ => "bert-bge" }}.gguf"),
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
