using System.Text;
using System.Text.Json;
using LlamaAot.Gguf;
using LlamaAot.Model;
using LlamaAot.Sampling;
using Xunit.Abstractions;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// Byte-level BPE vocabularies end to end against llama.cpp in-process: a llama model with Llama 3's vocabulary
/// (reference/tokenizers' llama-bpe) and a qwen2 model with Qwen 2's (qwen2), random F16 weights at width 64, written
/// by the test. For each prompt (punctuation, digits and the spaces clean_spaces removes; emoji and CJK; odd
/// whitespace; the vocabulary's chat special tokens), llama-aot's tokens are llama.cpp's, its 16 greedy tokens (end of
/// generation masked, as --ignore-eos) are llama.cpp's, and their text, streamed and detokenized, is llama.cpp's byte
/// for byte; so are the tokens of odd texts, every token's piece and the end-of-generation set.
/// The one accepted difference in the greedy ids: a step where llama.cpp's own best two logits are within
/// <see cref="NearTie"/> (random weights give nearly flat logits over 150k tokens); the comparison ends there.
/// </summary>
[Trait("Category", "Golden")]
public sealed class BpeVocabularyTests(BpeVocabularyTests.Models models, ITestOutputHelper output) : IClassFixture<BpeVocabularyTests.Models>
{
    /// <summary>Ten times the largest logit difference measured between the two engines on these files (F16 weights,
    /// F32 cache, the english prompt at every position): 1.4e-6 for llama, 1.2e-4 for qwen2.</summary>
    private const float NearTie = 1e-3f;

    private const int Generated = 16;

    private static readonly LlamaShape Shape = new(NEmbd: 64, NLayer: 2, NHead: 4, NHeadKv: 2, NFf: 128);

    /// <summary>The prompts every vocabulary runs, and per vocabulary one in its chat format.</summary>
    private static readonly Dictionary<string, string> CommonPrompts = new()
    {
        // The spaces before ?!., and apostrophes are those llama.cpp's clean_spaces drops when detokenizing.
        ["english"] = "Hello, world! It's 2024: 3.14159 apples cost $12,345.67 -- isn't that odd ? They 're sure , he said ' no ' !",
        ["unicode"] = "🦙 llama ♥ 日本語のテキスト, 你好世界! Ünïcödé ½ ① 🇫🇷👩‍👩‍👧",
        ["whitespace"] = "  two leading spaces\r\n\ttab,\n\n\nthree newlines   trailing   ",
    };

    private static readonly Dictionary<string, (string Architecture, string Chat)> Vocabularies = new()
    {
        ["llama-bpe"] = ("llama", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>" +
            "<|start_header_id|>assistant<|end_header_id|>\n\n"),
        ["qwen2"] = ("qwen2", "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|endoftext|>" +
            "<|im_end|>\n<|im_start|>assistant\n"),
    };

    /// <summary>Texts at the edges of the pre-tokenizers, special-token parsing and UTF-8 decoding, as bytes.</summary>
    private static readonly Dictionary<string, byte[]> OddTexts = new()
    {
        ["llama3-chat"] = Utf8("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nHi<|eot_id|>"),
        ["qwen-chat"] = Utf8("<|im_start|>user\nhi<|im_end|>\n<|endoftext|>"),
        ["cut-specials"] = Utf8("<|eot_id|<|im_end|x<|endoftext|>x<|eot_id|>"),
        ["other-specials"] = Utf8("<s></s>[INST]<unk><|end_of_text|><|im_start|>"),
        ["leading-space"] = Utf8(" leading space"),
        ["spaces"] = Utf8("   three leading spaces and trailing   "),
        ["crlf"] = Utf8("\r\n"),
        ["crlf-lines"] = Utf8("line1\r\nline2\r\n\r\n\tindented\r"),
        ["whitespace-kinds"] = Utf8("    \n\n   \t\t  x \u000b\u000c y \u00a0nbsp\u2009thin\u3000ideo\u200bzw x"),
        ["digits"] = Utf8("12345678901234567890123456789 007 1234567"),
        ["other-digits"] = Utf8("3.14159e-10 1,000,000 \u0661\u0662\u0663 \u2177 \u00b2\u00b3 \U0001d7d9\U0001d7da"),
        ["emoji"] = Utf8("😀😃🦙 👩‍👩‍👧‍👦🇯🇵 ❤️ 🏳️‍🌈"),
        ["cjk"] = Utf8("日本語のテキストです。中文也可以！한국어 텍스트"),
        ["accents"] = Utf8("ÅÄÖ åäö Ünïcödé ½ ① ™ ﬁ Ǆ"),
        ["contractions"] = Utf8("don't I'LL we've THEY'RE it's 'tis O'Neil's"),
        ["code"] = Utf8("func(x){return x*2;}//comment\n\tif (a<=b && c!=d) {...}\n"),
        ["invalid-bytes"] = [(byte)'a', (byte)'b', 0xFF, (byte)' ', (byte)'d', 0x80, (byte)'e'],
        ["cut-character"] = [.. Utf8("日本"), 0xE6, 0x97],
        ["nul"] = [(byte)'a', 0, (byte)'b'],
        ["long-word"] = Utf8(string.Concat(Enumerable.Repeat("Supercalifragilisticexpialidocious", 300))),
        ["long-runs"] = Utf8(new string('9', 3000) + new string(' ', 3000) + "x"),
    };

    public static TheoryData<string> VocabularyNames() => [.. Vocabularies.Keys];

    public static TheoryData<string, string> OddTextCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string vocabulary in Vocabularies.Keys)
            foreach (string text in OddTexts.Keys)
                data.Add(vocabulary, text);
        return data;
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string vocabulary in Vocabularies.Keys)
            foreach (string prompt in CommonPrompts.Keys.Append("chat"))
                data.Add(vocabulary, prompt);
        return data;
    }

    private static string Prompt(string vocabulary, string name) => name == "chat" ? Vocabularies[vocabulary].Chat : CommonPrompts[name];

    [Theory]
    [MemberData(nameof(Cases))]
    public void TokensMatchLlamaCpp(string vocabulary, string prompt)
    {
        foreach (bool addSpecial in new[] { true, false })
            AssertSameTokens(vocabulary, Utf8(Prompt(vocabulary, prompt)), addSpecial);
    }

    /// <summary>llama-tokenize's settings (BOS as the vocabulary says) with special tokens parsed and not.</summary>
    [Theory]
    [MemberData(nameof(OddTextCases))]
    public void OddTextsTokenizeLikeLlamaCpp(string vocabulary, string name) =>
        AssertSameTokens(vocabulary, OddTexts[name], addSpecial: true);

    private void AssertSameTokens(string vocabulary, byte[] text, bool addSpecial)
    {
        var (ours, theirs) = models.Get(vocabulary);
        foreach (bool parseSpecial in new[] { true, false })
        {
            int[] expected = theirs.Tokenize(text, addSpecial, parseSpecial), actual = ours.Tokenizer.Encode(text, addSpecial, parseSpecial);
            Assert.True(expected.SequenceEqual(actual),
                $"add_special {addSpecial}, parse_special {parseSpecial}:\n  llama.cpp [{string.Join(", ", expected)}]\n  ours      [{string.Join(", ", actual)}]");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GreedyTokensAndTheirTextMatchLlamaCpp(string vocabulary, string prompt)
    {
        var (ours, theirs) = models.Get(vocabulary);
        string text = Prompt(vocabulary, prompt);
        var expected = theirs.Greedy(theirs.Tokenize(text, addSpecial: true, parseSpecial: true), Generated, ignoreEndOfGeneration: true);
        Assert.Equal(expected.Prompt, ours.Tokenize(text, addSpecial: true, parseSpecial: true)); // as llama-aot's generation tokenizes it

        using var context = ours.CreateContext(new ContextOptions
        {
            ContextSize = 256,
            Threads = 1,
            BatchSize = 64, // every prompt fits; the logits of a batch are 150k floats per token
            KeyCacheType = KvCacheType.F32,
            ValueCacheType = KvCacheType.F32,
        });
        var options = new GenerationOptions { MaxTokens = Generated, IgnoreEos = true, Sampling = new SamplingOptions { Temperature = 0 } };
        using var session = context.CreateSession();
        var generated = session.GenerateTokens(text, options).ToList();
        int[] ids = generated.Where(t => t.Id >= 0).Select(t => t.Id).ToArray();
        Assert.Equal(Generated, ids.Length);
        int agreed = 0;
        while (agreed < Generated && ids[agreed] == expected.Ids[agreed])
            agreed++;
        output.WriteLine($"{vocabulary} {prompt}: llama.cpp [{string.Join(", ", expected.Ids)}], smallest top-2 gap " +
            $"{expected.Top2Gaps.Min():G3}; llama-aot agrees on {agreed} of {Generated}");
        if (agreed < Generated)
            Assert.True(expected.Top2Gaps[agreed] < NearTie,
                $"step {agreed}: llama-aot picks {ids[agreed]}, llama.cpp {expected.Ids[agreed]} with a top-2 gap of {expected.Top2Gaps[agreed]:G3}");

        // What llama-aot streams is what llama.cpp's pieces of the same ids spell.
        byte[] pieces = [.. ids.SelectMany(id => theirs.TokenToPiece(id, special: false))];
        Assert.Equal(Encoding.UTF8.GetString(pieces), string.Concat(generated.Select(t => t.Text)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GeneratedTokensDetokenizeLikeLlamaCpp(string vocabulary, string prompt)
    {
        var (ours, theirs) = models.Get(vocabulary);
        var continuation = theirs.Greedy(theirs.Tokenize(Prompt(vocabulary, prompt), addSpecial: true, parseSpecial: true), Generated, ignoreEndOfGeneration: false);
        int[] all = [.. continuation.Prompt, .. continuation.Ids];
        foreach (var (ids, removeSpecial, unparseSpecial) in new[] { (all, true, false), (all, false, true), (continuation.Ids, false, false) })
        {
            byte[] expected = theirs.Detokenize(ids, removeSpecial, unparseSpecial);
            byte[] actual = ours.Tokenizer.DecodeToUtf8(ids, removeSpecial, unparseSpecial);
            Assert.True(expected.AsSpan().SequenceEqual(actual),
                $"[{string.Join(", ", ids)}], remove_special {removeSpecial}, unparse_special {unparseSpecial}:\n" +
                $"  llama.cpp {Show(expected)}\n  ours      {Show(actual)}");
        }
    }

    /// <summary>Every token's piece, with and without special tokens rendered, and the end-of-generation set.</summary>
    [Theory]
    [MemberData(nameof(VocabularyNames))]
    public void EveryTokenReadsAsInLlamaCpp(string vocabulary)
    {
        var (ours, theirs) = models.Get(vocabulary);
        Assert.Equal(theirs.VocabularySize, ours.Vocabulary.Count);
        var mismatches = new List<string>();
        for (int id = 0; id < ours.Vocabulary.Count && mismatches.Count < 10; id++)
        {
            foreach (bool special in new[] { false, true })
            {
                byte[] expected = theirs.TokenToPiece(id, special), actual = ours.Tokenizer.TokenToPiece(id, special);
                if (!expected.AsSpan().SequenceEqual(actual))
                    mismatches.Add($"token {id} (special {special}): llama.cpp {Show(expected)}, ours {Show(actual)}");
            }
            if (theirs.IsEndOfGeneration(id) != ours.Vocabulary.IsEndOfGeneration(id))
                mismatches.Add($"token {id}: end of generation in llama.cpp {theirs.IsEndOfGeneration(id)}, ours {ours.Vocabulary.IsEndOfGeneration(id)}");
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Text as a JSON string when it is UTF-8, else its bytes in hex.</summary>
    private static string Show(byte[] text)
    {
        try
        {
            return JsonSerializer.Serialize(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(text));
        }
        catch (DecoderFallbackException)
        {
            return "0x" + Convert.ToHexString(text);
        }
    }

    /// <summary>The models, written once per test run into the temp directory and deleted after.</summary>
    public sealed class Models : IDisposable
    {
        private readonly Dictionary<string, (string Path, LlamaModel Ours, LlamaCppModel Theirs)> _loaded = [];

        internal (LlamaModel Ours, LlamaCppModel Theirs) Get(string vocabulary)
        {
            lock (_loaded)
            {
                if (!_loaded.TryGetValue(vocabulary, out var entry))
                {
                    string path = Write(vocabulary);
                    try
                    {
                        entry = (path, LlamaModel.Load(path), new LlamaCppModel(path));
                    }
                    catch
                    {
                        File.Delete(path);
                        throw;
                    }
                    _loaded.Add(vocabulary, entry);
                }
                return (entry.Ours, entry.Theirs);
            }
        }

        public void Dispose()
        {
            foreach (var (path, ours, theirs) in _loaded.Values)
            {
                ours.Dispose();
                theirs.Dispose();
                File.Delete(path);
            }
        }

        private static string Write(string vocabulary)
        {
            string source = Path.Combine(Shared.Root, "reference", "tokenizers", $"ggml-vocab-{vocabulary}.gguf");
            string path = Path.Combine(Path.GetTempPath(), $"llama-aot-bpe-{vocabulary}-{Environment.ProcessId}.gguf");
            if (Vocabularies[vocabulary].Architecture == "llama")
            {
                RandomModel.Write(path, Shape, GgmlType.F16, source, seed: 11);
                return path;
            }
            string llama = path + ".llama";
            try
            {
                RandomModel.Write(llama, Shape, GgmlType.F16, source, seed: 11);
                WriteQwen2(llama, path, seed: 11);
            }
            finally
            {
                File.Delete(llama);
            }
            return path;
        }

        /// <summary>
        /// The llama model at <paramref name="llamaPath"/> as a qwen2 one: its keys under <c>qwen2.</c>, its tensors
        /// as they are, plus random q, k and v biases (qwen2 rotates with the NEOX layout, which the architecture
        /// name alone selects).
        /// </summary>
        private static void WriteQwen2(string llamaPath, string path, int seed)
        {
            using var llama = GgufFile.Open(llamaPath);
            var writer = new GgufWriter();
            foreach (string key in llama.Metadata.Keys)
            {
                if (key == "general.architecture")
                    writer.Add(key, "qwen2");
                else
                    writer.Add(key.StartsWith("llama.", StringComparison.Ordinal) ? "qwen2." + key["llama.".Length..] : key, llama.Metadata[key]);
            }
            var random = new Random(seed);
            foreach (var t in llama.Tensors)
            {
                writer.AddTensor(t.Name, t.Shape, t.Type, llama.GetData(t));
                foreach (string projection in new[] { "attn_q", "attn_k", "attn_v" })
                {
                    if (t.Name.EndsWith($".{projection}.weight", StringComparison.Ordinal))
                    {
                        float[] bias = [.. Enumerable.Range(0, (int)t.Shape[1]).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f)];
                        writer.AddTensor(t.Name.Replace(".weight", ".bias", StringComparison.Ordinal), [t.Shape[1]], bias);
                    }
                }
            }
            writer.WriteTo(path);
        }
    }
}
