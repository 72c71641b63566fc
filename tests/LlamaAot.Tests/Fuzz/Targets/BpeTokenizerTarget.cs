using System.Text;
using LlamaAot.Gguf;
using LlamaAot.Model;

namespace LlamaAot.Tests.Fuzz.Targets;

/// <summary>
/// The byte-level BPE vocabulary loader and tokenizer, through a run (<c>llama-aot -m model.gguf -f prompt.txt</c>: the
/// vocabulary is read, the prompt tokenized with special tokens parsed, two tokens generated and detokenized). The
/// seed is a tiny random-weight llama model whose vocabulary is the first <see cref="NormalTokens"/> tokens of
/// Llama 3's (reference/tokenizers' llama-bpe) with the merges between them and its chat special tokens. A case
/// mutates the tokenizer metadata (tokens, merges, token types, pre-tokenizer, model, special ids and flags: values
/// replaced, removed, of another type), the prompt (special-token texts whole and cut, long runs of letters, digits,
/// spaces and emoji, ill-formed UTF-8), or both.
/// </summary>
internal sealed class BpeTokenizerTarget : FuzzTarget
{
    private const int NormalTokens = 1000;
    private const string Model = "model.gguf";
    private const string Prompt = "prompt.txt";

    private static readonly string[] Specials =
    [
        "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>",
        "<|reserved_special_token_0|>",
    ];

    private static readonly string[] IdKeys =
    [
        "bos_token_id", "eos_token_id", "eot_token_id", "eom_token_id", "unknown_token_id", "seperator_token_id",
        "padding_token_id", "mask_token_id", "fim_pre_token_id", "fim_mid_token_id", "prefix_token_id",
    ];

    private static readonly string[] FlagKeys = ["add_bos_token", "add_eos_token", "add_space_prefix", "add_sep_token"];

    /// <summary>Implemented pre-tokenizers and others: unknown ones, the empty name, case and spacing variants.</summary>
    private static readonly string[] PreTokenizers =
    [
        "llama-bpe", "default", "qwen2", "qwen35", "gpt-2", "deepseek-llm", "deepseek-coder", "falcon", "starcoder",
        "refact", "mpt", "command-r", "smollm", "gemma4", "bert-bge", "tekken", "", "LLAMA-BPE", " llama-bpe", "llama-bpe\0",
    ];

    private static readonly string[] TokenizerModels = ["gpt2", "llama", "bert", "gemma4", "t5", "rwkv", "none", "no_vocab", "", "GPT2"];

    /// <summary>Model names that switch on llama.cpp's per-model strip rules.</summary>
    private static readonly string[] ModelNames = ["phi-3", "Phi-3-mini", "jina-v2-base", "modernbert", "x"];

    /// <summary>Token types: each of GGUF's, and numbers none means.</summary>
    private static readonly int[] TokenTypes = [0, 1, 2, 3, 4, 5, 6, 7, -1, 100, int.MinValue, int.MaxValue];

    public override string Name => "bpe-tokenizer";

    public override void Prepare(string seedDir)
    {
        string vocabulary = Path.Combine(seedDir, "vocabulary.gguf");
        WriteVocabulary(vocabulary);
        RandomModel.Write(Path.Combine(seedDir, Model), new LlamaShape(NEmbd: 32, NLayer: 1, NHead: 2, NHeadKv: 1, NFf: 64), GgmlType.F32, vocabulary);
        File.Delete(vocabulary);
        File.WriteAllText(Path.Combine(seedDir, Prompt),
            "<|start_header_id|>user<|end_header_id|>\n\nWhat's 2+2? I'LL pay $1,234.56 -- 🦙 日本語 don't\r\n\t x<|eot_id|>");
    }

    public override string[] Make(string seedDir, string caseDir, Random? random)
    {
        bool vocabulary = random is not null && random.Next(4) != 0;
        bool text = random is not null && (!vocabulary || random.Next(2) == 0);
        if (vocabulary)
            WriteMutatedModel(Path.Combine(seedDir, Model), Path.Combine(caseDir, Model), random!);
        else
            Copy(seedDir, caseDir, Model);
        CopyMutated(seedDir, caseDir, Prompt, text ? random : null, MutateText);
        return ["-m", Model, "-f", Prompt, "-n", "2", "-c", "512", "--temp", "0", "-t", "1"];
    }

    /// <summary>The first tokens of Llama 3's vocabulary, the merges among them, and its special tokens.</summary>
    private static void WriteVocabulary(string path)
    {
        using var llama3 = GgufFile.Open(Path.Combine(Shared.Reference, "tokenizers", "ggml-vocab-llama-bpe.gguf"));
        string[] tokens = [.. llama3.Metadata.GetArray<string>("tokenizer.ggml.tokens")!.Take(NormalTokens), .. Specials];
        var texts = tokens.ToHashSet(StringComparer.Ordinal);
        string[] merges = [.. llama3.Metadata.GetArray<string>("tokenizer.ggml.merges")!.Where(m =>
            m.Split(' ') is [var left, var right] && texts.Contains(left) && texts.Contains(right) && texts.Contains(left + right))];
        var writer = new GgufWriter();
        writer.Add("tokenizer.ggml.model", "gpt2");
        writer.Add("tokenizer.ggml.pre", "llama-bpe");
        writer.Add("tokenizer.ggml.tokens", tokens);
        writer.Add("tokenizer.ggml.token_type", [.. tokens.Select((_, id) => id < NormalTokens ? 1 : 3)]);
        writer.Add("tokenizer.ggml.merges", merges);
        writer.Add("tokenizer.ggml.bos_token_id", (uint)NormalTokens);
        writer.Add("tokenizer.ggml.eos_token_id", (uint)NormalTokens + 1);
        writer.Add("tokenizer.ggml.add_bos_token", true);
        writer.WriteTo(path);
    }

    /// <summary>The seed model with one to three mutations of its tokenizer metadata; tensors unchanged.</summary>
    private static void WriteMutatedModel(string seed, string path, Random random)
    {
        using var model = GgufFile.Open(seed);
        var metadata = model.Metadata.Keys.Select(k => (Key: k, Value: model.Metadata[k])).ToList();
        int count = 1 + random.Next(3);
        for (int m = 0; m < count; m++)
            MutateMetadata(metadata, random);
        var writer = new GgufWriter();
        foreach (var (key, value) in metadata)
            writer.Add(key, value);
        foreach (var t in model.Tensors)
            writer.AddTensor(t.Name, t.Shape, t.Type, model.GetData(t));
        writer.WriteTo(path);
    }

    private static void MutateMetadata(List<(string Key, GgufValue Value)> metadata, Random random)
    {
        const string Prefix = "tokenizer.ggml.";
        string[] tokens = Strings(metadata, Prefix + "tokens");
        switch (random.Next(10))
        {
            case 0:
            case 1:
                Set(metadata, Prefix + "tokens", Strings(EditArray(tokens, random, () => OddTokenText(tokens, random), sameLength: true)));
                break;
            case 2:
            case 3:
            {
                string[] merges = Strings(metadata, Prefix + "merges");
                Set(metadata, Prefix + "merges", Strings(EditArray(merges, random, () => OddMerge(tokens, merges, random), sameLength: false)));
                break;
            }
            case 4:
            {
                int[] types = metadata.Find(p => p.Key == Prefix + "token_type").Value?.Value is GgufArray { Items: int[] t } ? t : [];
                Set(metadata, Prefix + "token_type", random.Next(8) == 0
                    ? new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.UInt8, types.Select(t => (byte)t).ToArray()))
                    : new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.Int32, EditArray(types, random, () => TokenTypes[random.Next(TokenTypes.Length)], sameLength: true))));
                break;
            }
            case 5:
                Set(metadata, Prefix + "pre", random.Next(8) == 0 ? OddValue(tokens.Length, random) : Text(PreTokenizers[random.Next(PreTokenizers.Length)]));
                break;
            case 6:
                Set(metadata, Prefix + "model", random.Next(8) == 0 ? OddValue(tokens.Length, random) : Text(TokenizerModels[random.Next(TokenizerModels.Length)]));
                break;
            case 7:
                Set(metadata, Prefix + IdKeys[random.Next(IdKeys.Length)], OddValue(tokens.Length, random));
                break;
            case 8:
                Set(metadata, random.Next(3) == 0 ? "general.name" : Prefix + FlagKeys[random.Next(FlagKeys.Length)],
                    random.Next(2) == 0 ? new GgufValue(GgufValueType.Bool, random.Next(2) == 0) : random.Next(2) == 0
                        ? Text(ModelNames[random.Next(ModelNames.Length)]) : OddValue(tokens.Length, random));
                break;
            default:
            {
                // A tokenizer key removed, or scores added (byte-level BPE files have none) with odd values.
                var keys = metadata.Where(p => p.Key.StartsWith(Prefix, StringComparison.Ordinal)).ToList();
                if (random.Next(2) == 0 && keys.Count > 0)
                    metadata.Remove(keys[random.Next(keys.Count)]);
                else
                    Set(metadata, Prefix + "scores", new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.Float32, OddScores(tokens.Length, random))));
                break;
            }
        }
    }

    /// <summary>
    /// One element replaced by an odd one or swapped with the last; or, one time in eight (always when
    /// <paramref name="sameLength"/> is false, as merges need not match anything), an element inserted, removed or
    /// duplicated, or the array cut. Tokens and token types of another length than the other's are refused at load.
    /// </summary>
    private static T[] EditArray<T>(T[] items, Random random, Func<T> odd, bool sameLength)
    {
        var list = items.ToList();
        if (list.Count == 0)
            return [odd()];
        int at = random.Next(list.Count);
        switch (sameLength && random.Next(8) != 0 ? 4 + random.Next(4) : random.Next(8))
        {
            case 0:
                list.Insert(at, odd());
                break;
            case 1:
                list.RemoveAt(at);
                break;
            case 2:
                list.Insert(random.Next(list.Count + 1), list[at]);
                break;
            case 3:
                list.RemoveRange(at, list.Count - at);
                break;
            case 4:
                (list[at], list[^1]) = (list[^1], list[at]);
                break;
            default:
                list[at] = odd();
                break;
        }
        return [.. list];
    }

    private static string OddTokenText(string[] tokens, Random random) => random.Next(10) switch
    {
        0 => "",
        1 => Any(tokens, random), // a duplicate
        2 => Specials[random.Next(Specials.Length)][..random.Next(1, 8)],
        3 => "<0x" + "0A4GzZ"[random.Next(6)] + "1>",
        4 => new string('\u0120', 1 + random.Next(300)), // byte-level spaces
        5 => new string('a', 1 + random.Next(100_000)),
        6 => "a b",
        7 => "\u0000\u001b\ufffd\u200d",
        8 => Any(tokens, random) + Any(tokens, random),
        _ => char.ConvertFromUtf32(random.Next(0x20, 0x30000) is var c && c is >= 0xD800 and < 0xE000 ? 0x41 : c),
    };

    private static string OddMerge(string[] tokens, string[] merges, Random random) => random.Next(9) switch
    {
        0 => "",
        1 => "x",
        2 => "a b c",
        3 => " ",
        4 => "Ġ  t",
        5 => $"{Any(tokens, random)} {Any(tokens, random)}", // its result maybe no token
        6 => merges.Length > 0 ? merges[random.Next(merges.Length)] : "Ġ t", // a duplicate
        7 => new string('Ġ', 1 + random.Next(1000)) + " " + new string('t', 1 + random.Next(1000)),
        _ => $"{Specials[random.Next(Specials.Length)]} {Any(tokens, random)}",
    };

    /// <summary>About one score per token (one more or fewer at times), each zero, negative, NaN, infinite or huge.</summary>
    private static float[] OddScores(int tokenCount, Random random)
    {
        float[] odd = [0, -1, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue, -0f];
        return [.. Enumerable.Range(0, Math.Max(0, tokenCount + random.Next(3) - 1)).Select(_ => odd[random.Next(odd.Length)])];
    }

    /// <summary>A value where a token id, a flag or a name belongs: boundary ids of each integer type, or another type.</summary>
    private static GgufValue OddValue(int tokenCount, Random random) => random.Next(12) switch
    {
        0 => new GgufValue(GgufValueType.UInt32, (uint)tokenCount),
        1 => new GgufValue(GgufValueType.UInt32, (uint)tokenCount - 1),
        2 => new GgufValue(GgufValueType.UInt32, uint.MaxValue),
        3 => new GgufValue(GgufValueType.Int32, -1),
        4 => new GgufValue(GgufValueType.Int32, -2),
        5 => new GgufValue(GgufValueType.Int32, int.MaxValue),
        6 => new GgufValue(GgufValueType.Int64, long.MinValue),
        7 => new GgufValue(GgufValueType.UInt64, ulong.MaxValue),
        8 => new GgufValue(GgufValueType.Float32, float.NaN),
        9 => Text("1"),
        10 => new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.Int32, new[] { 1, 2 })),
        _ => new GgufValue(GgufValueType.UInt8, (byte)random.Next(256)),
    };

    /// <summary>Special-token texts whole and cut, long runs, odd whitespace, emoji, ill-formed UTF-8, inserted into the
    /// prompt; or the prompt's bytes mutated as any file's.</summary>
    private static byte[] MutateText(byte[] text, Random random)
    {
        if (random.Next(4) == 0)
            return Mutations.Bytes(text, random);
        var bytes = new List<byte>(text);
        int count = 1 + random.Next(3);
        for (int m = 0; m < count; m++)
            bytes.InsertRange(random.Next(bytes.Count + 1), OddText(random));
        return [.. bytes];
    }

    private static byte[] OddText(Random random)
    {
        int n = random.Next(3) == 0 ? 1 + random.Next(50_000) : 1 + random.Next(20);
        string Repeat(string s) => string.Concat(Enumerable.Repeat(s, n));
        string special = Specials[random.Next(Specials.Length)];
        return random.Next(11) switch
        {
            0 => Encoding.UTF8.GetBytes(special),
            1 => Encoding.UTF8.GetBytes(special[..random.Next(special.Length)]),
            2 => Encoding.UTF8.GetBytes(new string("aZ"[random.Next(2)], n)),
            3 => Encoding.UTF8.GetBytes(new string('7', n)),
            4 => Encoding.UTF8.GetBytes(Repeat(new[] { " ", "\t", "\r\n", "\n", "\u000b", "\u00a0", "\u3000", " a" }[random.Next(8)])),
            5 => Encoding.UTF8.GetBytes(Repeat("👩‍👩‍👧🇯🇵")),
            6 => Encoding.UTF8.GetBytes(Repeat("'s'LL're ")),
            7 => Encoding.UTF8.GetBytes(Repeat("Ġt<|")),
            8 => [0xED, 0xA0, 0x80, 0xC0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xF8, 0x88, 0x80, 0x80, 0x80, 0xE6, 0x97], // surrogate, overlong, past U+10FFFF, 5 bytes, cut
            9 => Encoding.UTF8.GetBytes(Repeat(special[..^1])),
            _ => [(byte)random.Next(256)],
        };
    }

    /// <summary>A token's text, or "a" when an earlier mutation of the case left no tokens.</summary>
    private static string Any(string[] tokens, Random random) => tokens.Length == 0 ? "a" : tokens[random.Next(tokens.Length)];

    private static string[] Strings(List<(string Key, GgufValue Value)> metadata, string key) =>
        metadata.Find(p => p.Key == key).Value?.Value is GgufArray { Items: string[] s } ? s : [];

    private static GgufValue Strings(string[] items) => new(GgufValueType.Array, new GgufArray(GgufValueType.String, items));

    private static GgufValue Text(string s) => new(GgufValueType.String, s);

    private static void Set(List<(string Key, GgufValue Value)> metadata, string key, GgufValue value)
    {
        int at = metadata.FindIndex(p => p.Key == key);
        if (at >= 0)
            metadata[at] = (key, value);
        else
            metadata.Add((key, value));
    }
}
