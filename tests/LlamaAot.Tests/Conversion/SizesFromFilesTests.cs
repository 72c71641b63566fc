using System.Buffers.Binary;
using LlamaAot.Conversion;
using LlamaAot.Gguf;

namespace LlamaAot.Tests.Conversion;

/// <summary>
/// A size a source file states (config.json, a llama2.c or ggjt header, GGUF metadata) is checked against the
/// tensors and the file's length before anything is allocated from it: an absurd value gets an error naming it,
/// and the attempt allocates little (measured on the calling thread, where every such allocation would happen).
/// </summary>
public class SizesFromFilesTests
{
    /// <summary>Well under any absurd size (gigabytes), well over what converting stories260K allocates.</summary>
    public const long AllocationBound = 64L << 20;

    /// <summary>Runs <paramref name="action"/>, which must throw <typeparamref name="T"/>; returns the message, after
    /// asserting that the calling thread allocated less than <see cref="AllocationBound"/>.</summary>
    public static string FailsWithin<T>(Action action) where T : Exception
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<T>(action);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < AllocationBound, $"allocated {allocated} bytes before failing with: {e.Message}");
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Theory]
    [InlineData("vocab_size", 100_000_000, "vocab_size 100000000 does not match tensor 'model.embed_tokens.weight' [512, 64]")]
    [InlineData("vocab_size", int.MaxValue, "vocab_size 2147483647 does not match tensor 'model.embed_tokens.weight' [512, 64]")]
    [InlineData("num_hidden_layers", 1_000_000_000, "num_hidden_layers 1000000000, but the safetensors files hold 5 layers (model.layers.0 to model.layers.4)")]
    [InlineData("hidden_size", 1_000_000_000, "tensor 'model.embed_tokens.weight' has shape [512, 64], but config.json implies [512, 1000000000]")]
    [InlineData("intermediate_size", int.MaxValue, "tensor 'model.layers.0.mlp.gate_proj.weight' has shape [172, 64], but config.json implies [2147483647, 64]")]
    [InlineData("num_attention_heads", 1_000_000_000, "hidden_size 64 is not a multiple of num_attention_heads 1000000000")]
    [InlineData("num_key_value_heads", 1_000_000_000, "num_attention_heads 8 is not a multiple of num_key_value_heads 1000000000")]
    public void HuggingFaceConfigSizesAreCheckedAgainstTheTensors(string key, int value, string expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string hf = dir.File("hf"), config = Path.Combine(hf, "config.json");
        HuggingFaceWriter.Write(hf, Shared.Stories260K("F32"), "F32");
        string text = File.ReadAllText(config);
        int at = text.IndexOf($"\"{key}\": ", StringComparison.Ordinal) + key.Length + 4;
        File.WriteAllText(config, text[..at] + value + text[text.IndexOf(',', at)..]);

        string message = FailsWithin<ConversionException>(() => ModelConverter.Convert(hf, dir.File("out.gguf")));
        Assert.EndsWith(expected, message);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    /// <summary>ggjt's seven int32 hyperparameters, after the magic and version: the index of each.</summary>
    public static TheoryData<int, int, string> LegacyHeaderFields() => new()
    {
        { 0, 500_000_000, "n_vocab 500000000 in the ggjt v3 header cannot fit in the file: each token takes at least 8 bytes, and" },
        { 1, 4096, "n_embd 4096 in the ggjt v3 header does not match tensor 'tok_embeddings.weight' [64, 512]" },
        { 4, 1_000_000_000, "n_layer 1000000000 in the ggjt v3 header, but the file holds the tensors of 5 layers (layers.0 to layers.4)" },
        { 3, 1_000_000_000, "ggjt v3 file with invalid hyperparameters" },
    };

    [Theory]
    [MemberData(nameof(LegacyHeaderFields))]
    public void LegacyHeaderSizesAreCheckedAgainstTheFile(int field, int value, string expected)
    {
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("model.bin");
        LegacyGgmlWriter.Write(legacy, Shared.Stories260K("F32"), LegacyGgmlWriter.Ggjt, 3);
        byte[] bytes = File.ReadAllBytes(legacy);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8 + field * 4), value);
        File.WriteAllBytes(legacy, bytes);

        string message = FailsWithin<ConversionException>(() => ModelConverter.Convert(legacy, dir.File("out.gguf")));
        Assert.Contains(expected, message);
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    [Fact]
    public void Llama2cHeaderWhoseSizesOverflowIsRefused()
    {
        // dim 2^30 with 2^31-4 layers: the weights' byte count wraps around 2^64 to exactly this small file's length.
        using var dir = new ConvertFixture.ScratchDirectory();
        int[] header = [1 << 30, 1 << 30, int.MaxValue - 3, 1 << 29, 1 << 29, 7, 1000];
        byte[] bytes = new byte[7 * 4 + 8 * 1000];
        for (int i = 0; i < header.Length; i++)
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), header[i]);
        string checkpoint = dir.File("wrapped.bin");
        File.WriteAllBytes(checkpoint, bytes);

        string message = FailsWithin<ConversionException>(() => Llama2cConverter.Convert(checkpoint, SevenTokens(dir.File("tok7.bin")), dir.File("out.gguf")));
        Assert.Equal($"{checkpoint}: not a llama2.c checkpoint: its header (dim 1073741824, hidden_dim 1073741824, n_layers 2147483644, n_heads 536870912, "
            + "n_kv_heads 536870912, vocab_size 7, seq_len 1000) describes more bytes of weights than any file can hold", message);
    }

    [Fact]
    public void ARealAllocationFailureIsOutOfMemoryWithoutContextAdvice()
    {
        // A ggjt header whose 50 million (empty) tokens really are in the file, stored sparsely: reading them takes
        // some 800 MB, more than the 256 MiB heap the run is given. convert has no context (-c) to shrink.
        using var dir = new ConvertFixture.ScratchDirectory();
        string legacy = dir.File("vocab.bin");
        const int tokens = 50_000_000;
        using (var w = new BinaryWriter(File.Create(legacy)))
        {
            w.Write(LegacyGgmlWriter.Ggjt);
            w.Write(3u);
            foreach (int v in new[] { tokens, 64, 256, 8, 5, 8, 0 }) // n_vocab, n_embd, n_mult, n_head, n_layer, n_rot, ftype
                w.Write(v);
            w.BaseStream.SetLength(w.BaseStream.Length + tokens * 8L + 1000);
        }
        var r = Cli.LlamaAotProcess.Run(["convert", legacy, dir.File("out.gguf")], new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "10000000" }); // hex; NativeAOT takes no 0x
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: out of memory: an allocation failed; free memory or use a machine with more", r.Stderr.Trim());
        Assert.False(File.Exists(dir.File("out.gguf")));
    }

    /// <summary>A llama2.c tokenizer.bin of seven one-letter tokens.</summary>
    private static string SevenTokens(string path)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(1);
        for (int i = 0; i < 7; i++)
        {
            w.Write(0f);
            w.Write(1);
            w.Write((byte)('a' + i));
        }
        return path;
    }
}
