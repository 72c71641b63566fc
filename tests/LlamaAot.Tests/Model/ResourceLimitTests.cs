using LlamaAot.Gguf;
using LlamaAot.Tests.Gguf;

namespace LlamaAot.Tests.Model;

/// <summary>What cannot fit in memory is refused up front with a clear message, never an OOM kill or a hang.</summary>
public class ResourceLimitTests
{
    [Fact]
    public void ModelFileLargerThanMemoryIsRefused()
    {
        // A valid header whose one tensor claims 256 GiB; the file is extended sparsely, so it costs no disk.
        using var dir = new TempDir();
        var header = new GgufBytes()
            .Header(tensorCount: 1, kvCount: 1)
            .KvString("general.architecture", "llama")
            .TensorInfo("token_embd.weight", [1L << 20, 1L << 16], GgmlType.F32, 0)
            .Pad(32)
            .ToArray();
        string path = dir.Write(header, "huge.gguf");
        using (var f = new FileStream(path, FileMode.Open))
            f.SetLength(header.Length + (1L << 38));

        var e = Assert.Throws<InsufficientMemoryException>(() => LlamaModel.Load(path));
        Assert.Contains("the model file is 256.00 GiB but this machine has", e.Message);
    }

    [Fact]
    public void ContextLargerThanMemoryIsRefused()
    {
        using var model = LlamaModel.Load(Shared.Stories260K("Q4_0"));
        var e = Assert.Throws<InsufficientMemoryException>(() => model.CreateContext(new ContextOptions { ContextSize = 1 << 30 }));
        Assert.Contains("KV cache for 1073741824 tokens needs", e.Message);
        Assert.Contains("smaller context (-c)", e.Message);
    }

    /// <summary>
    /// The default context is the training context (llama.cpp's -c 0) while its KV cache fits in half the available
    /// memory; beyond that, the whole multiples of 256 positions that do (at least 256).
    /// </summary>
    [Theory]
    [InlineData(128, 1L << 30, 128)]                 // stories260K-like: fits
    [InlineData(1 << 20, 1L << 30, 1 << 20)]          // 128 MiB of cache in 512 MiB: fits
    [InlineData(1 << 20, 64L << 20, 262_144)]        // 32 MiB hold 262,144 positions of 128 bytes
    [InlineData(1 << 20, 100_000_000, 390_400)]      // 50,000,000 / 128 = 390,625, cut to a multiple of 256
    [InlineData(1 << 20, 1024, 256)]                 // nothing fits: the smallest context llama.cpp pads to
    public void DefaultContextIsTheTrainingContextAsFarAsHalfTheMemoryHolds(int nCtxTrain, long available, int expected)
    {
        // One layer, 4 KV heads of 8 dimensions, F16 keys and values: 128 bytes a position.
        var config = new LlamaAot.Model.ModelConfig
        {
            Architecture = "llama", NVocab = 8, NEmbd = 64, NLayer = 1, NHead = 8, NHeadKv = 4, NFf = 8, HeadDim = 8,
            NCtxTrain = nCtxTrain, NRot = 8, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-5f,
        };
        Assert.Equal(expected, LlamaContext.FitTrainingContext(config, new ContextOptions(), available));
    }

    /// <summary>
    /// Sliding-window layers take only their ring (window + batch, in tiles) whatever the context, so a model whose
    /// layers are mostly local fits a longer default context than one position's bytes over every layer would say.
    /// </summary>
    [Fact]
    public void DefaultContextCountsOnlyTheRingsOfSlidingWindowLayers()
    {
        // Four layers of 128 bytes a position (F16); three slide over 512 positions: with a batch of 512, their rings
        // hold 1,024 cells (384 KiB together), whatever the context, and the global layer 128 bytes a position.
        var config = new LlamaAot.Model.ModelConfig
        {
            Architecture = "gemma3", NVocab = 8, NEmbd = 64, NLayer = 4, NHead = 8, NHeadKv = 4, NFf = 8, HeadDim = 8,
            NCtxTrain = 1 << 20, NRot = 8, RopeFreqBase = 10000, RopeFreqScale = 1, RmsEps = 1e-5f,
            SlidingWindow = 512, SlidingLayers = [true, true, true, false],
        };
        long available = 2 * (3 * 1024 * 128 + 100_000L * 128);
        // 100,000 global positions fit beside the rings: 99,840 as a multiple of 256 (counting all four layers per position: 25,600).
        Assert.Equal(99_840, LlamaContext.FitTrainingContext(config, new ContextOptions { BatchSize = 512 }, available));
    }

    [Fact]
    public void PromptLongerThanTheContextIsRefused()
    {
        using var model = LlamaModel.Load(Shared.Stories260K("Q4_0"));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 8 });
        using var session = context.CreateSession();
        var e = Assert.Throws<PromptTooLongException>(() => session.GenerateTokens("Once upon a time there was a little girl named Lily").ToList());
        Assert.Contains("but the context holds 8", e.Message);
    }

    [Fact]
    public void GenerationStopsWhenTheContextIsFull()
    {
        using var model = LlamaModel.Load(Shared.Stories260K("Q4_0"));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 16 });
        using var session = context.CreateSession();
        var tokens = session.GenerateTokens("Once upon a time", new GenerationOptions { IgnoreEos = true, Sampling = new() { Temperature = 0 } }).ToList();
        Assert.Equal(StopReason.ContextFull, session.LastStats!.StopReason);
        Assert.Equal(16 - 5 + 1, tokens.Count(t => t.Id >= 0));
    }
}

/// <summary>GGUF hyperparameters are held against the tensors before anything is allocated from them.</summary>
public sealed class GgufSizeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("llama.block_count", 1_000_000_000u, "llama.block_count 1000000000, but the file holds the tensors of 5 blocks (blk.0 to blk.4)")]
    [InlineData("llama.embedding_length", 1_000_000_000u, "tensor 'blk.0.attn_norm.weight' has shape [64], expected [1000000000]")]
    [InlineData("llama.feed_forward_length", (uint)int.MaxValue, "tensor 'blk.0.ffn_gate.weight' has shape [64, 172], expected [64, 2147483647]")]
    [InlineData("llama.attention.head_count", 1_000_000_000u, "n_embd 64 is not a multiple of n_head 1000000000")]
    [InlineData("llama.attention.head_count_kv", 1_000_000_000u, "n_head 8 is not a multiple of n_head_kv 1000000000")]
    [InlineData("llama.rope.dimension_count", 1_000_000_000u, "rope dimension count 1000000000 must be even and at most the head size 8")]
    public void HyperparametersAreCheckedAgainstTheTensors(string key, uint value, string expected)
    {
        string path = WithMetadata(key, value);
        string message = Conversion.SizesFromFilesTests.FailsWithin<GgufFormatException>(() => LlamaModel.Load(path).Dispose());
        Assert.EndsWith(expected, message);
    }

    [Fact]
    public void AnAbsurdBlockCountIsNamedNotCalledOutOfMemory()
    {
        var r = Cli.LlamaAotProcess.Run("-m", WithMetadata("llama.block_count", 1_000_000_000u), "-p", "Once", "-n", "1");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: cannot load the model: llama.block_count 1000000000, but the file holds the tensors of 5 blocks (blk.0 to blk.4)", r.Stderr.Trim());
    }

    /// <summary>stories260K F32 with one uint32 metadata value replaced.</summary>
    private string WithMetadata(string key, uint value)
    {
        using var source = GgufFile.Open(Shared.Stories260K("F32"));
        var writer = new GgufWriter();
        writer.AddMetadata(source.Metadata);
        writer.Set(key, new GgufValue(GgufValueType.UInt32, value));
        foreach (var t in source.Tensors)
            writer.AddTensor(t.Name, t.Shape, t.Type, source.GetData(t));
        string path = _dir.File("model.gguf");
        writer.WriteTo(path);
        return path;
    }
}
