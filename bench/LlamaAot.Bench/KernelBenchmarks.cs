using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Quants;

namespace LlamaAot.Bench;

/// <summary>
/// Does specialization pay? For every weight type, the shape-specialized kernel, the generic kernel (K at run time)
/// and the scalar reference, at K = 2048, 4096 and 14336 (TinyLlama, Llama-2-7B, Llama-3-8B: all in the shape
/// table), matrix-vector (token generation: 2048 rows) and matrix-matrix (prompt processing: 512 rows x 64 tokens),
/// single-threaded, on the best instruction set of this CPU. Columns: weight GB/s and GFLOP/s.
/// LLAMA_AOT_BENCH_TYPES=Q4_0,Q8_0 limits the run to some types.
/// </summary>
[Config(typeof(Config))]
public unsafe class KernelBenchmarks
{
    public const int GemvRows = 2048;
    public const int GemmRows = 512;
    public const int GemmTokens = 64;

    private KernelEntry _kernel = null!;
    private byte* _w, _x;
    private float* _y;
    private long _wBytes;

    /// <summary>Every weight type, or those listed in LLAMA_AOT_BENCH_TYPES (e.g. "Q4_0,Q8_0") for a shorter run.</summary>
    public static IEnumerable<string> Types()
    {
        var all = Formats.All.Select(f => f.Type.ToString()).Order();
        string? only = Environment.GetEnvironmentVariable("LLAMA_AOT_BENCH_TYPES");
        return string.IsNullOrEmpty(only) ? all : all.Where(t => only.Split(',').Contains(t));
    }

    [ParamsSource(nameof(Types))]
    public string Type { get; set; } = "Q4_0";

    [Params(2048, 4096, 14336)]
    public int K { get; set; }

    [Params("specialized", "generic", "reference")]
    public string Kernel { get; set; } = "specialized";

    [Params("gemv", "gemm")]
    public string Op { get; set; } = "gemv";

    internal int Rows => Op == "gemv" ? GemvRows : GemmRows;

    internal int Tokens => Op == "gemv" ? 1 : GemmTokens;

    internal long WeightBytes => Formats.Get(Enum.Parse<GgmlType>(Type)).RowBytes(K) * Rows;

    [GlobalSetup]
    public void Setup()
    {
        var format = Formats.Get(Enum.Parse<GgmlType>(Type));
        var isa = KernelIsas.Best;
        // The layout a model load picks (repacked groups of rows where an interleaved kernel exists), and in it the
        // specialized pair for K or the generic one: the comparison is between kernels on the same weight bytes.
        var best = KernelRegistry.Find(format.Type, isa, K, allowRepack: true, () => true); // the data below is finite
        _kernel = Kernel switch
        {
            "specialized" => best is { IsSpecialized: true } ? best
                : throw new InvalidOperationException($"no specialized {isa} kernel for {Type} at K={K}"),
            "generic" => KernelRegistry.All.Single(e => e.Weights == format.Type && e.Isa == isa && !e.IsSpecialized && e.Rows == best!.Rows && e.FiniteWeightsOnly == best.FiniteWeightsOnly),
            _ => format.ReferenceKernels,
        };
        _wBytes = format.RowBytes(K) * Rows;
        var activations = _kernel.Activations;
        int xRowBytes = activations.RowBytes(K);
        _w = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)_wBytes, 64);
        _x = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(xRowBytes * Tokens), 64);
        _y = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(Rows * Tokens * 4), 64);
        var random = new Random(1);
        var row = new float[K];
        var rowBytes = (int)format.RowBytes(K);
        byte* fileLayout = _kernel.IsInterleaved ? (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)_wBytes) : _w;
        for (int r = 0; r < Rows; r++)
        {
            for (int i = 0; i < K; i++)
                row[i] = (float)(random.NextDouble() * 2 - 1);
            format.Quantize(row, new Span<byte>(fileLayout + (long)r * rowBytes, rowBytes));
        }
        if (_kernel.IsInterleaved)
        {
            for (int r = 0; r < Rows; r += _kernel.Rows)
                _kernel.Repack(fileLayout + (long)r * rowBytes, rowBytes, _kernel.Rows, K, _w + (long)r * rowBytes);
            System.Runtime.InteropServices.NativeMemory.Free(fileLayout);
        }
        for (int t = 0; t < Tokens; t++)
        {
            for (int i = 0; i < K; i++)
                row[i] = (float)(random.NextDouble() * 2 - 1);
            activations.Quantize(row, new Span<byte>(_x + (long)t * xRowBytes, xRowBytes));
        }
    }

    [Benchmark]
    public void Run()
    {
        if (Op == "gemv")
            _kernel.Gemv(_w, _x, _y, Rows, K);
        else
            _kernel.Gemm(_w, _x, _y, Rows, Tokens, K, Rows);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_w);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_x);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_y);
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(1).WithIterationCount(5)
                .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(100)));
            AddColumn(new ThroughputColumn("GB/s", (b, seconds) => b.WeightBytes / seconds / 1e9));
            AddColumn(new ThroughputColumn("GFLOP/s", (b, seconds) => 2.0 * b.Rows * b.K * b.Tokens / seconds / 1e9));
            AddColumn(new IsaColumn());
        }
    }
}
