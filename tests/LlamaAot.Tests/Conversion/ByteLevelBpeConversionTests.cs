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
