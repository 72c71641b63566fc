using System.Buffers.Binary;
using LlamaAot.Tests.Conversion;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// A Hugging Face model directory converted to GGUF (<c>llama-aot convert DIR out.gguf</c>): stories260K written as
/// transformers saves it, then one of its files mutated. Each file's parser is its own target, below.
/// </summary>
internal abstract class HuggingFaceTarget : FuzzTarget
{
    /// <summary>How many safetensors files the model is written in.</summary>
    protected virtual int Shards => 1;

    /// <summary>Which tokenizer files the directory holds.</summary>
    protected virtual HuggingFaceWriter.Tokenizer Tokenizer => HuggingFaceWriter.Tokenizer.SentencePiece;

    /// <summary>The file of the directory this target mutates, and how.</summary>
    protected abstract (string File, Func<byte[], Random, byte[]> Mutate) Mutated(Random random);

    public override void Prepare(string seedDir) =>
        HuggingFaceWriter.Write(Path.Combine(seedDir, "model"), Shared.Stories260K("F32"), "F16", Shards, Tokenizer);

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        string model = Path.Combine(seedDir, "model");
        var (mutated, mutate) = random is null ? ("", null!) : Mutated(random);
        foreach (string file in Directory.GetFiles(model))
        {
            string name = Path.Combine("model", Path.GetFileName(file));
            if (Path.GetFileName(file) == mutated)
                CopyMutated(seedDir, caseDir, name, random, mutate);
            else
                Copy(seedDir, caseDir, name);
        }
        return ["convert", "model", "out.gguf"];
    }
}

/// <summary>config.json: sizes, head counts, rope and norm settings.</summary>
internal sealed class HuggingFaceConfigTarget : HuggingFaceTarget
{
    public override string Name => "hf-config";

    protected override (string, Func<byte[], Random, byte[]>) Mutated(Random random) => ("config.json", Mutations.Json);
}

/// <summary>tokenizer.model: the SentencePiece protobuf.</summary>
internal sealed class SentencePieceModelTarget : HuggingFaceTarget
{
    public override string Name => "hf-tokenizer-model";

    protected override (string, Func<byte[], Random, byte[]>) Mutated(Random random) => ("tokenizer.model", (b, r) => Mutations.Bytes(b, r));
}

/// <summary>tokenizer.json: the vocabulary, merges and added tokens.</summary>
internal sealed class TokenizerJsonTarget : HuggingFaceTarget
{
    public override string Name => "hf-tokenizer-json";

    protected override HuggingFaceWriter.Tokenizer Tokenizer => HuggingFaceWriter.Tokenizer.Json;

    protected override (string, Func<byte[], Random, byte[]>) Mutated(Random random) => ("tokenizer.json", Mutations.Json);
}

/// <summary>
/// tokenizer_config.json (add_bos_token, added_tokens_decoder keyed by token id) and added_tokens.json (token ids by
/// text), beside a tokenizer.model.
/// </summary>
internal sealed class TokenizerConfigTarget : HuggingFaceTarget
{
    public override string Name => "hf-tokenizer-config";

    public override void Prepare(string seedDir)
    {
        base.Prepare(seedDir);
        HuggingFaceWriter.WriteTokenizerConfig(Path.Combine(seedDir, "model"));
    }

    protected override (string, Func<byte[], Random, byte[]>) Mutated(Random random) =>
        (random.Next(4) == 0 ? "added_tokens.json" : "tokenizer_config.json", Mutations.Json);
}

/// <summary>
/// Sharded safetensors: the index (model.safetensors.index.json) or a shard, whose 8-byte header length and JSON
/// header (dtypes, shapes, data offsets) take most mutations.
/// </summary>
internal sealed class SafetensorsTarget : HuggingFaceTarget
{
    public override string Name => "hf-safetensors";

    protected override int Shards => 2;

    protected override (string, Func<byte[], Random, byte[]>) Mutated(Random random) => random.Next(4) switch
    {
        0 => ("model.safetensors.index.json", Mutations.Json),
        _ => ($"model-{1 + random.Next(2):D5}-of-00002.safetensors", Shard),
    };

    private static byte[] Shard(byte[] bytes, Random random)
    {
        int headerEnd = (int)Math.Min(bytes.Length, 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
        switch (random.Next(3))
        {
            case 0: // the JSON header as JSON, its length rewritten to match
            {
                byte[] header = Mutations.Json(bytes[8..headerEnd], random);
                var result = new byte[8 + header.Length + bytes.Length - headerEnd];
                BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
                header.CopyTo(result, 8);
                bytes.AsSpan(headerEnd).CopyTo(result.AsSpan(8 + header.Length));
                return result;
            }
            case 1:
                return Mutations.Bytes(bytes, random, 0, headerEnd);
            default:
                return Mutations.Bytes(bytes, random);
        }
    }
}

/// <summary>
/// A byte-level BPE tokenizer.json (the pre-tokenizer's blocks, vocabulary, added tokens, merges, post-processor) and
/// its tokenizer_config.json (special tokens, chat template), beside a tiny model.
/// </summary>
internal sealed class ByteLevelTokenizerTarget : FuzzTarget
{
    public override string Name => "hf-bpe-tokenizer";

    public override void Prepare(string seedDir)
    {
        string model = Path.Combine(seedDir, "model");
        ByteLevelBpeWriter.WriteModel(model, "LlamaForCausalLM", "llama", ByteLevelBpeWriter.SmallVocabSize, bos: 5, eos: 6);
        var tokenizer = ByteLevelBpeWriter.SmallTokenizer();
        tokenizer["post_processor"] = System.Text.Json.Nodes.JsonNode.Parse("""
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "<|end_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}]}
            """);
        File.WriteAllText(Path.Combine(model, "tokenizer.json"), tokenizer.ToJsonString());
        File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), """
            {"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|end_of_text|>"}, "add_eos_token": false,
             "chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool use", "template": "{{ tools }}"}]}
            """);
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        string mutated = random is null ? "" : random.Next(3) == 0 ? "tokenizer_config.json" : "tokenizer.json";
        foreach (string file in Directory.GetFiles(Path.Combine(seedDir, "model")))
        {
            string name = Path.Combine("model", Path.GetFileName(file));
            if (Path.GetFileName(file) == mutated)
                CopyMutated(seedDir, caseDir, name, random, Mutations.Json);
            else
                Copy(seedDir, caseDir, name);
        }
        return ["convert", "model", "out.gguf"];
    }
}
