using LlamaAot.Gguf;
using LlamaAot.Tokenizers;

namespace LlamaAot.Tests.Tokenizers;

/// <summary>Builds small in-memory GGUF tokenizer metadata for tests of vocabulary loading and edge cases.</summary>
internal sealed class MetadataBuilder
{
    private readonly Dictionary<string, GgufValue> _values = new(StringComparer.Ordinal);

    /// <summary>An SPM vocabulary: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the given normal tokens (score = -index), and no byte tokens.</summary>
    public static MetadataBuilder Spm(params string[] normalTokens)
    {
        string[] tokens = ["<unk>", "<s>", "</s>", .. normalTokens];
        int[] types = [(int)TokenType.Unknown, (int)TokenType.Control, (int)TokenType.Control, .. normalTokens.Select(_ => (int)TokenType.Normal)];
        float[] scores = [0, 0, 0, .. normalTokens.Select((_, i) => (float)-i)];
        return new MetadataBuilder()
            .Set("tokenizer.ggml.model", "llama")
            .Set("tokenizer.ggml.tokens", tokens)
            .Set("tokenizer.ggml.scores", scores)
            .Set("tokenizer.ggml.token_type", types);
    }

    public MetadataBuilder Set(string key, string value) => Set(key, new GgufValue(GgufValueType.String, value));

    public MetadataBuilder Set(string key, uint value) => Set(key, new GgufValue(GgufValueType.UInt32, value));

    public MetadataBuilder Set(string key, int value) => Set(key, new GgufValue(GgufValueType.Int32, value));

    public MetadataBuilder Set(string key, bool value) => Set(key, new GgufValue(GgufValueType.Bool, value));

    public MetadataBuilder Set(string key, string[] value) => SetArray(key, GgufValueType.String, value);

    public MetadataBuilder Set(string key, float[] value) => SetArray(key, GgufValueType.Float32, value);

    public MetadataBuilder Set(string key, int[] value) => SetArray(key, GgufValueType.Int32, value);

    public MetadataBuilder Remove(string key)
    {
        _values.Remove(key);
        return this;
    }

    /// <summary>Changes one element of an array value already set.</summary>
    public MetadataBuilder Edit<T>(string key, Action<T[]> edit)
    {
        var array = (GgufArray)_values[key].Value;
        T[] items = (T[])((T[])array.Items).Clone();
        edit(items);
        return SetArray(key, array.ElementType, items);
    }

    public GgufMetadata Build()
    {
        var metadata = new GgufMetadata();
        foreach (var (key, value) in _values)
            metadata.TryAdd(key, value);
        return metadata;
    }

    private MetadataBuilder Set(string key, GgufValue value)
    {
        _values[key] = value;
        return this;
    }

    private MetadataBuilder SetArray(string key, GgufValueType elementType, Array items) =>
        Set(key, new GgufValue(GgufValueType.Array, new GgufArray(elementType, items)));
}
