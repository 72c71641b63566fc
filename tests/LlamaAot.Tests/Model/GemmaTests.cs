using LlamaAot.Gguf;
using LlamaAot.Model;
using LlamaAot.Model.Architectures;
using LlamaAot.Model.Ops;
using LlamaAot.Tests.Gguf;

namespace LlamaAot.Tests.Model;

/// <summary>
/// What Gemma 2 and 3 add beyond the reference logits (ArchReferenceTests): ggml's GELU, how the sliding-window
/// pattern is read, and the KV cache rings of the sliding layers: they hold only the window, give the same logits
/// as a full cache, and a sequence cut back before what they hold starts over.
/// </summary>
public sealed class GemmaTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Entries of ggml_table_gelu_f16 as llama.cpp 0.5.0's x86 build holds them (read from its libggml-cpu.so), which
    /// llama-aot's table matches in all 65,536 entries. -1.999 is the one entry where GCC's contraction of
    /// 1 + a x x into a multiply-add changes the half (without it: -0.04547119).
    /// </summary>
    [Theory]
    [InlineData(0xbfff, 0xa9d3)] // gelu(-1.999) = -0.0455017
    [InlineData(0xc000, 0xa9d0)] // gelu(-2)
    [InlineData(0x3c00, 0x3abb)] // gelu(1) = 0.8413086
    public unsafe void GeluIsGgmlsTableOfHalves(int x, int gelu)
    {
        float input = (float)BitConverter.UInt16BitsToHalf((ushort)x), up = 1;
        GeGlu.Row(&input, &up, 1);
        Assert.Equal((float)BitConverter.UInt16BitsToHalf((ushort)gelu), input);
    }

    [Fact]
    public unsafe void GeGluRoundsTheGateToHalfAndPassesLargeValues()
    {
        float* gate = stackalloc float[] { 1.0001f, -10f, 10f, 12f };
        float* up = stackalloc float[] { 2, 3, 3, 0.5f };
        GeGlu.Row(gate, up, 4);
        Assert.Equal((float)BitConverter.UInt16BitsToHalf(0x3abb) * 2, gate[0]); // 1.0001 rounds to the half 1
        Assert.Equal(0, gate[1]);
        Assert.Equal(30, gate[2]);
        Assert.Equal(6, gate[3]);
    }

    /// <summary>gemma3's file says pattern 2; an array names each layer.</summary>
    [Fact]
    public void TheSlidingPatternIsAPeriodOrOneBoolPerLayer()
    {
        using (var gemma3 = LlamaModel.Load(ArchReferenceTests.ModelPath("gemma3", "F32")))
            Assert.Equal([8, 0], [gemma3.Config.LayerWindow(0), gemma3.Config.LayerWindow(1)]);
        string path = Rewrite("gemma3", w => w.Set("gemma3.attention.sliding_window_pattern", new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.Bool, new[] { false, true }))));
        using var model = LlamaModel.Load(path);
        Assert.Equal([0, 8], [model.Config.LayerWindow(0), model.Config.LayerWindow(1)]);

        string wrong = Rewrite("gemma3", w => w.Set("gemma3.attention.sliding_window_pattern", new GgufValue(GgufValueType.Array, new GgufArray(GgufValueType.Bool, new[] { true }))));
        var e = Assert.Throws<GgufFormatException>(() => LlamaModel.Load(wrong).Dispose());
        Assert.Equal("invalid model hyperparameters: gemma3.attention.sliding_window_pattern has 1 values for 2 layers", e.Message);
    }

    /// <summary>
    /// Gemma 3 (Q8_0) with batches of 4: its sliding layer keeps a ring of 16 cells (window 8 + 4 - 1, in whole
    /// tiles) instead of 256, and generating to position 100 (the ring wraps six times) gives, at every step, the same
    /// logits bit for bit as a cache that keeps every position, and llama.cpp's greedy ids (up to a near-tie of its own).
    /// </summary>
    [Fact]
    public void TheRingOfASlidingLayerGivesTheLogitsOfAFullCache()
    {
        var reference = ArchReferenceTests.Reference.Load("gemma3", "Q8_0", "f16", "lily");
        using var model = LlamaModel.Load(ArchReferenceTests.ModelPath("gemma3", "Q8_0"));
        using var ring = model.CreateContext(new ContextOptions { ContextSize = 256, BatchSize = 4, Threads = 1 });
        using var full = model.CreateContext(new ContextOptions { ContextSize = 256, BatchSize = 256, Threads = 1 });
        var layout = KvCacheLayout.For(model.Config, 1, 256, 4, KvCacheType.F16, KvCacheType.F16);
        Assert.Equal([16, 256], layout.Cells);
        Assert.Equal(layout.Bytes, ring.KvCacheBytes);
        Assert.Equal(2L * 2 * 64 * 2 * (16 + 256), ring.KvCacheBytes); // K and V, one KV head of 128 halves, per cell
        Assert.Equal(2L * 2 * 64 * 2 * (256 + 256), full.KvCacheBytes);

        // The prompt in the same batches of 4 in both, so that only the cache differs.
        float[] logits = [];
        for (int i = 0; i < reference.Tokens.Length; i += 4)
        {
            var chunk = reference.Tokens.AsSpan(i, Math.Min(4, reference.Tokens.Length - i));
            logits = ring.EvaluateAll(chunk).ToArray();
            Assert.Equal(logits, full.EvaluateAll(chunk).ToArray());
        }
        logits = logits[^model.Config.NVocab..];
        bool sameIds = true;
        for (int step = 0; step < reference.Greedy.Length; step++)
        {
            int id = ArgMax(logits);
            if (sameIds && id != reference.Greedy[step])
            {
                // As ArchReferenceTests: past a near-tie of llama.cpp's own the ids part ways; the caches still agree.
                Assert.True(reference.Top2Gaps[step] < 0.1, $"step {step}: {id}, llama.cpp {reference.Greedy[step]} with a top-2 gap of {reference.Top2Gaps[step]}");
                sameIds = false;
            }
            logits = ring.Evaluate([id]).ToArray();
            Assert.Equal(logits, full.Evaluate([id]).ToArray());
        }
        Assert.Equal(100, ring.Position);
    }

    /// <summary>
    /// Cutting a Gemma 3 sequence back: to 30 after 36 positions, the ring (positions 20..35) still holds what a token
    /// at 30 reads (23..30), so the sequence continues from there; to 10, it does not (3..10 were overwritten), so
    /// Truncate returns 0 and the sequence is evaluated again from its start. Both continue exactly as a fresh context.
    /// </summary>
    [Fact]
    public void CuttingASequenceBackBeforeWhatTheRingHoldsStartsItOver()
    {
        int[] prompt = ArchReferenceTests.Reference.Load("gemma3", "Q8_0", "f16", "lily").Tokens, more = [300, 290, 260, 270, 451];
        using var model = LlamaModel.Load(ArchReferenceTests.ModelPath("gemma3", "Q8_0"));
        var options = new ContextOptions { ContextSize = 256, BatchSize = 4, Threads = 1 };
        using var context = model.CreateContext(options);
        float[] Fresh(int[] tokens)
        {
            using var fresh = model.CreateContext(options);
            return fresh.EvaluateAll(tokens).ToArray();
        }
        context.EvaluateAll(prompt).ToArray();

        Assert.Equal(30, context.Truncate(0, 30));
        Assert.Equal(Fresh([.. prompt[..30], .. more])[(30 * model.Config.NVocab)..], context.EvaluateAll(more).ToArray());

        Assert.Equal(0, context.Truncate(0, 10));
        Assert.Equal(0, context.Position);
        int[] again = [.. prompt[..10], .. more];
        Assert.Equal(Fresh(again), context.EvaluateAll(again).ToArray());
    }

    /// <summary>
    /// The memory the issue asks for: a Gemma-3-1B-shaped model (26 layers, 1 KV head of 256, window 512, pattern 6 so
    /// 22 sliding layers and 4 global ones) at -c 32768 with the default F16 cache and -ub 512. A sliding layer keeps
    /// 512 + 512 - 1 positions, 1,024 cells in whole tiles; a global one all 32,768. Each cell of a layer holds 256 keys
    /// and 256 values of 2 bytes: 1 KiB. So 22 x 1,024 KiB + 4 x 32,768 KiB = 150 MiB, against 26 x 32,768 KiB =
    /// 832 MiB when every layer keeps every position.
    /// </summary>
    [Fact]
    public void Gemma3Of1BAt32kPositionsKeeps150MiBInsteadOf832()
    {
        var metadata = new GgufMetadata();
        foreach (var (key, value) in new (string, uint)[]
        {
            ("embedding_length", 1152), ("block_count", 26), ("feed_forward_length", 6912), ("context_length", 32768),
            ("attention.head_count", 4), ("attention.head_count_kv", 1), ("attention.key_length", 256),
            ("attention.value_length", 256), ("attention.sliding_window", 512),
        })
            metadata.TryAdd("gemma3." + key, new GgufValue(GgufValueType.UInt32, value));
        var keys = new ArchitectureKeys(metadata, "gemma3");
        var config = Gemma3.WithSlidingWindow(ModelConfig.FromGguf(keys, nVocab: 262144), keys);

        var layout = KvCacheLayout.For(config, nSeq: 1, nCtxSeq: 32768, maxBatch: 512, KvCacheType.F16, KvCacheType.F16);
        var full = KvCacheLayout.For(config with { SlidingLayers = [] }, 1, 32768, 512, KvCacheType.F16, KvCacheType.F16);

        Assert.Equal(22, layout.Cells.Count(c => c == 1024));
        Assert.Equal(4, layout.Cells.Count(c => c == 32768));
        const long CellBytes = 1 * 256 * (2 + 2);
        Assert.Equal((22 * 1024 + 4 * 32768) * CellBytes, layout.Bytes);
        Assert.Equal(157_286_400, layout.Bytes);
        Assert.Equal(26 * 32768 * CellBytes, full.Bytes);
        Assert.Equal(872_415_232, full.Bytes);
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
                best = i;
        }
        return best;
    }

    /// <summary>models/arch/&lt;arch&gt;-F32.gguf with <paramref name="edit"/> applied after its metadata and tensors.</summary>
    private string Rewrite(string arch, Action<GgufWriter> edit)
    {
        using var source = GgufFile.Open(ArchReferenceTests.ModelPath(arch, "F32"));
        var writer = new GgufWriter();
        writer.AddMetadata(source.Metadata);
        foreach (var t in source.Tensors)
            writer.AddTensor(t.Name, t.Shape, t.Type, source.GetData(t));
        edit(writer);
        string path = _dir.File($"{arch}-{Guid.NewGuid():N}.gguf");
        writer.WriteTo(path);
        return path;
    }
}
