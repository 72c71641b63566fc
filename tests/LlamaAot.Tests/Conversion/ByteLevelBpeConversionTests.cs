using System.Text.Json.Nodes;
using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// Hugging Face directories with a byte-level BPE tokenizer.json convert to the tokenizer metadata llama.cpp's
/// convert_hf_to_gguf.py writes: the Llama 3 and Qwen 2 vocabularies of llama.cpp's reference files come back key for
/// key, and the parts of SpecialVocab those files do not exercise are checked on small cases.
/// </summary>
public class ByteLevelBpeConversionTests
{
    private static string Reference(string name) => Path.Combine(Shared.Reference, "tokenizers", $"ggml-vocab-{name}.gguf");

    /// <summary>
    /// The vocabulary-only reference GGUFs (llama.cpp's models/ggml-vocab-*.gguf, written by its converter) inverted
    /// into a Hugging Face directory with the real tokenizer.json blocks of the family, converted back: every
    /// <c>tokenizer.*</c> key equals the reference's, in the same order. llama-bpe's merges are written as strings,
    /// qwen2's as pairs. Their tokenizer_config.json files name the special tokens as Meta's and Qwen's do (Qwen's
    /// BOS is null there: its BOS id comes from config.json, after the EOS and padding ids, as in the reference).
    /// The qwen2 reference types its [PADn] tokens user-defined, as the converter of 2024 that wrote it did (0.5.0's
    /// types them unused: see <see cref="TokensAndTypesAreGetVocabBases"/>); inverted, they are non-special added tokens.
    /// </summary>
    [Theory]
    [InlineData("llama-bpe", "LlamaForCausalLM", "llama")]
    [InlineData("qwen2", "Qwen2ForCausalLM", "qwen2")]
    public void ReferenceVocabularyComesBackKeyForKey(string name, string hfArchitecture, string modelType)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = dir.File("out.gguf");
        using var reference = GgufFile.Open(Reference(name));
        var md = reference.Metadata;
        int tokens = md.GetArray<string>("tokenizer.ggml.tokens")!.Length, bos = md.GetInt32("tokenizer.ggml.bos_token_id"), eos = md.GetInt32("tokenizer.ggml.eos_token_id");
        ByteLevelBpeWriter.WriteModel(hf, hfArchitecture, modelType, tokens, bos, eos);
        bool qwen = name == "qwen2";
        ByteLevelBpeWriter.WriteTokenizerJson(hf, md, qwen ? ByteLevelBpeWriter.Qwen25 : ByteLevelBpeWriter.Llama3, pairMerges: qwen);
        var tokenizerConfig = new System.Text.Json.Nodes.JsonObject
        {
            ["bos_token"] = qwen ? null : "<|begin_of_text|>",
            ["eos_token"] = qwen ? "<|endoftext|>" : "<|end_of_text|>",
            ["model_max_length"] = 32768,
        };
        if (qwen)
        {
            tokenizerConfig["pad_token"] = "<|endoftext|>";
            tokenizerConfig["chat_template"] = md.GetString("tokenizer.chat_template");
        }
        File.WriteAllText(Path.Combine(hf, "tokenizer_config.json"), tokenizerConfig.ToJsonString());

        ModelConverter.Convert(hf, output);
        using var actual = GgufFile.Open(output);
        var keys = (GgufFile f) => f.Metadata.Keys.Where(k => k.StartsWith("tokenizer.", StringComparison.Ordinal)).ToList();
        Assert.Equal(keys(reference), keys(actual));
        foreach (string key in keys(reference))
            AssertSameValue(key, reference.Metadata[key], actual.Metadata[key]);
    }

    /// <summary>Writes the small directory (tokenizer.json, tokenizer_config.json unless null, the files given) and
    /// returns the converted file's metadata.</summary>
    private static GgufMetadata ConvertSmall(JsonObject tokenizer, JsonObject? tokenizerConfig, int? bos = null, int? eos = null,
        string architecture = "LlamaForCausalLM", params (string Name, string Text)[] files)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), output = dir.File("out.gguf");
        ByteLevelBpeWriter.WriteModel(hf, architecture, "unused", ByteLevelBpeWriter.SmallVocabSize, bos, eos);
        File.WriteAllText(Path.Combine(hf, "tokenizer.json"), tokenizer.ToJsonString());
        if (tokenizerConfig is not null)
            File.WriteAllText(Path.Combine(hf, "tokenizer_config.json"), tokenizerConfig.ToJsonString());
        foreach (var (name, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(hf, name))!);
            File.WriteAllText(Path.Combine(hf, name), text);
        }
        ModelConverter.Convert(hf, output);
        using var gguf = GgufFile.Open(output);
        return gguf.Metadata;
    }

    /// <summary>Tokens by id (model tokens, added tokens over them, [PADn] for ids without one) and their types: added
    /// tokens are control tokens when special or spelled like one, else user-defined with U+2581 as a space; a model
    /// token whose text an added token takes loses its id.</summary>
    [Fact]
    public void TokensAndTypesAreGetVocabBases()
    {
        var tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        var added = tokenizer["added_tokens"]!.AsArray();
        added.Add(ByteLevelBpeWriter.AddedToken(7, "<|im_start|>", false)); // spelled like a control token: control
        added.Add(ByteLevelBpeWriter.AddedToken(3, "<tool\u2581call>", false)); // replaces the model's "ab"
        tokenizer["model"]!["vocab"]!["<|end_of_text|>"] = 0; // the special token's text: "!" gives way
        tokenizer["model"]!["vocab"]!.AsObject().Remove("!");
        var md = ConvertSmall(tokenizer, null);
        Assert.Equal(["[PAD0]", "a", "b", "<tool call>", "\u0120a", "<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>"], md.GetArray<string>("tokenizer.ggml.tokens")!);
        Assert.Equal([5, 1, 1, 4, 1, 3, 3, 3], md.GetArray<int>("tokenizer.ggml.token_type")!); // unused, normal, user-defined, control
        Assert.Equal("gpt2", md.GetString("tokenizer.ggml.model"));
        Assert.Equal("llama-bpe", md.GetString("tokenizer.ggml.pre"));
    }

    /// <summary>Merges given as [a, b] pairs (transformers 4.45 and later) are written "a b", a space inside a part as
    /// U+0120, as strings are written as they are.</summary>
    [Fact]
    public void PairMergesBecomeStrings()
    {
        var tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        tokenizer["model"]!["merges"] = new JsonArray(new JsonArray("a", "b"), new JsonArray(" ", "a"), "b a");
        Assert.Equal(["a b", "\u0120 a", "b a"], ConvertSmall(tokenizer, null).GetArray<string>("tokenizer.ggml.merges")!);
    }

    /// <summary>
    /// tokenizer_config.json's chat_template is written; without one there, chat_template.jinja's (with
    /// additional_chat_templates/*.jinja as named templates); a null one there means none. An SPM directory gets it too.
    /// </summary>
    [Fact]
    public void ChatTemplateComesFromTokenizerConfigOrJinja()
    {
        const string template = "{% for m in messages %}<|begin_of_text|>{{ m['content'] }}{% endfor %}";
        var md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), new JsonObject { ["chat_template"] = template },
            files: ("chat_template.jinja", "not this one"));
        Assert.Equal(template, md.GetString("tokenizer.chat_template"));

        md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), new JsonObject { ["eos_token"] = "<|end_of_text|>" },
            files: [("chat_template.jinja", template), ("additional_chat_templates/tool-use.jinja", "tools")]);
        Assert.Equal(template, md.GetString("tokenizer.chat_template"));
        Assert.Equal("tools", md.GetString("tokenizer.chat_template.tool_use"));
        Assert.Equal(["tool_use"], md.GetArray<string>("tokenizer.chat_templates")!);

        md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), new JsonObject { ["chat_template"] = null, ["eos_token"] = "<|end_of_text|>" },
            files: ("chat_template.jinja", template));
        Assert.False(md.Contains("tokenizer.chat_template"));

        using var dir = new ConvertFixture.ScratchDirectory();
        string spm = dir.File("spm"), output = dir.File("spm.gguf");
        HuggingFaceWriter.Write(spm, Shared.Stories260K("F32"), "F32");
        File.WriteAllText(Path.Combine(spm, "tokenizer_config.json"), new JsonObject { ["chat_template"] = template }.ToJsonString());
        ModelConverter.Convert(spm, output);
        using var gguf = GgufFile.Open(output);
        Assert.Equal(template, gguf.Metadata.GetString("tokenizer.chat_template"));
    }

    /// <summary>Llama's converter (LlamaModel) writes tokenizer_config.json's add_prefix_space, before the vocabulary;
    /// Qwen 2's does not.</summary>
    [Fact]
    public void AddPrefixSpaceIsLlamas()
    {
        var config = new JsonObject { ["add_prefix_space"] = false };
        var md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), config);
        Assert.False(md.GetBool("tokenizer.ggml.add_space_prefix", true));
        Assert.Equal("tokenizer.ggml.add_space_prefix", md.Keys.First(k => k.StartsWith("tokenizer.", StringComparison.Ordinal)));
        md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), config.DeepClone().AsObject(), architecture: "Qwen2ForCausalLM");
        Assert.False(md.Contains("tokenizer.ggml.add_space_prefix"));
    }

    /// <summary>
    /// Special token ids: tokenizer_config.json's texts looked up among the added tokens come first, config.json's
    /// ids fill the rest (an id outside the vocabulary is left out); add_bos_token / add_eos_token are written.
    /// </summary>
    [Fact]
    public void SpecialTokenIdsAndFlags()
    {
        var config = new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = new JsonObject { ["content"] = "<|end_of_text|>" }, ["pad_token"] = "ab", ["add_bos_token"] = true, ["add_eos_token"] = false };
        var md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), config, bos: 1, eos: 2);
        Assert.Equal(5u, md["tokenizer.ggml.bos_token_id"].Value);
        Assert.Equal(6u, md["tokenizer.ggml.eos_token_id"].Value);
        Assert.False(md.Contains("tokenizer.ggml.padding_token_id")); // "ab" is no added token
        Assert.True(md.GetBool("tokenizer.ggml.add_bos_token", false));
        Assert.False(md.GetBool("tokenizer.ggml.add_eos_token", true));

        md = ConvertSmall(ByteLevelBpeWriter.SmallTokenizer(), null, bos: 1, eos: 99);
        Assert.Equal(1u, md["tokenizer.ggml.bos_token_id"].Value);
        Assert.False(md.Contains("tokenizer.ggml.eos_token_id"));
    }

    /// <summary>
    /// The post-processor's special tokens: Llama 3's TemplateProcessing (BOS, then the text; pairs BOS A BOS B) adds
    /// BOS and no SEP, unless tokenizer_config.json says otherwise; a template ending in a token other than EOS makes it
    /// EOS and the old EOS the end-of-turn token; RobertaProcessing adds BOS, EOS and SEP.
    /// </summary>
    [Fact]
    public void PostProcessorDecidesWhatIsAdded()
    {
        static JsonObject Special(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
        static JsonObject Sequence(string id) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };
        JsonObject Template(JsonArray single, JsonArray pair)
        {
            var tokenizer = ByteLevelBpeWriter.SmallTokenizer();
            tokenizer["post_processor"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new JsonArray(
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                    new JsonObject { ["type"] = "TemplateProcessing", ["single"] = single, ["pair"] = pair }),
            };
            return tokenizer;
        }
        var llama3 = () => Template(
            new JsonArray(Special("<|begin_of_text|>"), Sequence("A")),
            new JsonArray(Special("<|begin_of_text|>"), Sequence("A"), Special("<|begin_of_text|>"), Sequence("B")));
        var bosEos = new JsonObject { ["bos_token"] = "<|begin_of_text|>", ["eos_token"] = "<|end_of_text|>" };

        var md = ConvertSmall(llama3(), bosEos.DeepClone().AsObject());
        Assert.True(md.GetBool("tokenizer.ggml.add_bos_token", false));
        Assert.False(md.GetBool("tokenizer.ggml.add_sep_token", true));
        Assert.False(md.Contains("tokenizer.ggml.add_eos_token"));

        var noBos = bosEos.DeepClone().AsObject();
        noBos["add_bos_token"] = false;
        Assert.False(ConvertSmall(llama3(), noBos).GetBool("tokenizer.ggml.add_bos_token", true));

        // The single template ends with <|end_of_text|>, tokenizer_config.json's EOS is <|begin_of_text|>.
        md = ConvertSmall(Template(new JsonArray(Sequence("A"), Special("<|end_of_text|>")), []),
            new JsonObject { ["eos_token"] = "<|begin_of_text|>" });
        Assert.Equal(6u, md["tokenizer.ggml.eos_token_id"].Value);
        Assert.Equal(5u, md["tokenizer.ggml.eot_token_id"].Value);
        Assert.True(md.GetBool("tokenizer.ggml.add_eos_token", false));

        var roberta = ByteLevelBpeWriter.SmallTokenizer();
        roberta["post_processor"] = new JsonObject { ["type"] = "RobertaProcessing", ["sep"] = new JsonArray("<|end_of_text|>", 6), ["cls"] = new JsonArray("<|begin_of_text|>", 5) };
        md = ConvertSmall(roberta, bosEos.DeepClone().AsObject());
        Assert.Equal((true, true, true), (md.GetBool("tokenizer.ggml.add_bos_token", false), md.GetBool("tokenizer.ggml.add_eos_token", false), md.GetBool("tokenizer.ggml.add_sep_token", false)));
        Assert.Equal(6u, md["tokenizer.ggml.seperator_token_id"].Value);
    }

    /// <summary>
    /// tokenizer.ggml.pre is named from the blocks whatever their formatting, options that only move offsets, and
    /// options left at their defaults; any other block is refused, the message saying what it is.
    /// </summary>
    [Fact]
    public void PreTokenizerIsNamedFromItsBlocksOrRefused()
    {
        var tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        var byteLevel = tokenizer["pre_tokenizer"]!["pretokenizers"]![1]!.AsObject();
        byteLevel["trim_offsets"] = false;
        tokenizer["pre_tokenizer"]!["pretokenizers"]![0]!.AsObject().Remove("invert"); // false by default
        Assert.Equal("llama-bpe", ConvertSmall(tokenizer, null).GetString("tokenizer.ggml.pre"));

        tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        tokenizer["normalizer"] = new JsonObject { ["type"] = "NFC" };
        var e = Assert.Throws<NotSupportedException>(() => ConvertSmall(tokenizer, null));
        Assert.Contains("tokenizer.json: no tokenizer.ggml.pre known for pre_tokenizer Sequence[Split '(?i:", e.Message);
        Assert.EndsWith("ByteLevel] with normalizer NFC (known: llama-bpe, qwen2, smollm; llama.cpp's convert_hf_to_gguf.py names more)", e.Message);

        tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        tokenizer["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "\\p{N}{1,3}";
        e = Assert.Throws<NotSupportedException>(() => ConvertSmall(tokenizer, null));
        Assert.Contains("pre_tokenizer Sequence[Split '\\\\p{N}{1,3}', ByteLevel] with normalizer none (known:", e.Message);
    }

    [Theory]
    [InlineData("vocab", "tokenizer.json: token 'ab' has id 8, outside config.json's vocab_size 8")]
    [InlineData("added", "tokenizer.json: token '<x>' has id -1, outside config.json's vocab_size 8")]
    [InlineData("merge", "tokenizer.json: merge 2 is the number 3, not a string or a pair of strings")]
    [InlineData("bpe-without-byte-level", "tokenizer.json: a 'BPE' tokenizer with neither byte fallback (SentencePiece's) nor a ByteLevel pre-tokenizer (GPT-2's) is not supported")]
    public void MalformedTokenizerSaysWhat(string change, string expected)
    {
        var tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        switch (change)
        {
            case "vocab": tokenizer["model"]!["vocab"]!["ab"] = 8; break;
            case "added": tokenizer["added_tokens"]!.AsArray().Add(ByteLevelBpeWriter.AddedToken(-1, "<x>", true)); break;
            case "merge": tokenizer["model"]!["merges"]!.AsArray().Add(3); break;
            default: tokenizer["pre_tokenizer"] = new JsonObject { ["type"] = "Whitespace" }; break;
        }
        var e = Assert.ThrowsAny<Exception>(() => ConvertSmall(tokenizer, null));
        Assert.True(e is ConversionException or NotSupportedException, e.ToString());
        Assert.Contains(expected, e.Message);
    }

    internal static void AssertSameValue(string key, GgufValue expected, GgufValue actual)
    {
        Assert.True(expected.Type == actual.Type, $"{key}: {expected.Type} became {actual.Type}");
        if (expected.Value is GgufArray e)
        {
            var a = Assert.IsType<GgufArray>(actual.Value);
            Assert.True(e.ElementType == a.ElementType, $"{key}: array of {e.ElementType} became one of {a.ElementType}");
            Assert.True(e.Count == a.Count, $"{key}: {e.Count} elements became {a.Count}");
            for (int i = 0; i < e.Count; i++)
                Assert.True(Equals(e.Items.GetValue(i), a.Items.GetValue(i)), $"{key}[{i}]: {e.Items.GetValue(i)} became {a.Items.GetValue(i)}");
        }
        else
        {
            Assert.True(Equals(expected.Value, actual.Value), $"{key}: {expected} became {actual}");
        }
    }
}
