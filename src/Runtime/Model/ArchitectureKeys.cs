using LlamaAot.Gguf;

namespace LlamaAot.Model;

/// <summary>
/// The <c>{arch}.*</c> metadata keys of a model, read by their names without the prefix. Every key read is
/// recorded, so that after the config and the architecture have read what they understand, a key left over (one that
/// may change the math, such as a sliding window or a soft-cap this build does not apply) stops the load instead of
/// being ignored.
/// </summary>
internal sealed class ArchitectureKeys(GgufMetadata metadata, string architecture)
{
    /// <summary>
    /// Keys that never change the forward pass: vocab_size (the vocabulary is the tokenizer's), and how the model
    /// was converted or fine-tuned (rope scaling's original context only enters yarn, refused where the scaling type
    /// is read, and phi3's LongRoPE, which reads it).
    /// </summary>
    private static readonly string[] Informational = ["vocab_size", "tensor_data_layout", "rope.scaling.finetuned", "rope.scaling.original_context_length"];

    private readonly HashSet<string> _read = [.. Informational.Select(k => architecture + "." + k)];

    public string Architecture => architecture;

    /// <summary>The full key name of <paramref name="key"/>: "{arch}.{key}".</summary>
    public string Name(string key) => architecture + "." + key;

    public bool Contains(string key) => metadata.Contains(Name(key));

    public int GetInt32(string key, int? fallback = null) => metadata.GetInt32(Read(key), fallback);

    public float GetSingle(string key, float? fallback = null) => metadata.GetSingle(Read(key), fallback);

    public string? GetString(string key) => metadata.GetString(Read(key));

    public bool GetBool(string key, bool fallback) => metadata.GetBool(Read(key), fallback);

    private string Read(string key)
    {
        string name = Name(key);
        _read.Add(name);
        return name;
    }

    /// <summary>Throws naming the first <c>{arch}.*</c> key that nothing read.</summary>
    public void RejectUnread()
    {
        string prefix = architecture + ".";
        foreach (string key in metadata.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !_read.Contains(key))
                throw new NotSupportedException(
                    $"metadata key '{key}' is not understood by llama-aot's {architecture} architecture and may change the model's math, so the model is not loaded");
        }
    }

    /// <summary>Whether <paramref name="key"/> holds an array (some keys are written either as one value or per layer).</summary>
    public bool IsArray(string key) => metadata.TryGet(Name(key), out var value) && value.Value is GgufArray;

    /// <summary>An array of <typeparamref name="T"/>, or null when the key is absent.</summary>
    public T[]? GetArray<T>(string key) => metadata.GetArray<T>(Read(key));
}
