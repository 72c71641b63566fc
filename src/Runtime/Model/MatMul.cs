using LlamaAot.Kernels;
using LlamaAot.Quants;
using LlamaAot.Threading;

namespace LlamaAot.Model;

/// <summary>One product of a batch: y[t, r] = dot(W[r], x[t]) for every token t, with y rows W.Rows wide.</summary>
internal readonly unsafe struct MatMulTarget(WeightMatrix w, float* y)
{
    public WeightMatrix W { get; } = w;
    public float* Y { get; } = y;
}

/// <summary>
/// The one dispatch point for matrix products. Activations are converted once per product batch into the weight
/// format's activation format (several products sharing an input and a format share the conversion), then the
/// threads claim chunks of weight rows (of every product of the batch) and run the chosen kernel on each. A row's
/// result is computed the same way whatever chunk it is in and whoever takes it, so results do not depend on the
/// thread count nor on the order chunks are claimed.
/// </summary>
internal sealed unsafe class MatMul(WorkerPool pool) : IParallelWork, IDisposable
{
    // Chunks of rows start at multiples of this, so they line up with kernel tiles.
    private const int RowGrain = 16;

    // Tokens per matrix-matrix call: the activations of a chunk stay in L2 while each weight tile meets them all.
    // Every kernel gives a token the same result whatever the call holds (BatchInvarianceTests), so any split works.
    private const int TokenChunk = 64;

    // F16 weights in prompts: rows widened to floats this many at a time, then multiplied by the F32 kernels; from
    // PanelMinTokens tokens up (below, widening costs more than converting in the kernel's tiles). 32 is the row block
    // of the generated matrix-matrix kernels (KernelEmitter.RowBlock): one panel is one block, whose K blocks of
    // activations stay in L2 for all its row tiles (16-row panels: the K = 5632 kernel's time share 23.2%, 32: 22.1%).
    private const int PanelRows = 32;
    private const int PanelMinTokens = 16;
    private readonly AlignedBuffer?[] _panels = new AlignedBuffer?[pool.Threads]; // one per thread, grown by its owner

    private AlignedBuffer? _xq;
    private float* _x;
    private int _k, _tokens;
    private ActivationFormat? _format;
    private MatMulTarget[] _targets = new MatMulTarget[4];
    private readonly ChunkPlan[] _rowPlans = new ChunkPlan[4];
    private int _targetCount;
    private ChunkPlan _tokenPlan;
    private bool _quantizing;

    /// <summary>
    /// Computes every target's product with the same input x ([tokens, K] floats). All targets must have the same K.
    /// </summary>
    public void Run(float* x, int tokens, ReadOnlySpan<MatMulTarget> targets)
    {
        int k = targets[0].W.K;
        _x = x;
        _k = k;
        _tokens = tokens;
        // Group targets by activation format (in practice all share one), converting once per group.
        Span<bool> done = stackalloc bool[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            if (done[i])
                continue;
            var format = targets[i].W.Kernels.Activations;
            _targetCount = 0;
            long cost = 0;
            for (int j = i; j < targets.Length; j++)
            {
                if (!done[j] && ReferenceEquals(targets[j].W.Kernels.Activations, format))
                {
                    done[j] = true;
                    _targets[_targetCount++] = targets[j];
                    cost += (long)targets[j].W.Rows * k * tokens;
                }
            }
            Convert(format, k, tokens);
            _quantizing = false;
            int chunks = 0;
            for (int j = 0; j < _targetCount; j++)
            {
                var w = _targets[j].W;
                _rowPlans[j] = pool.Plan(w.Rows, Math.Max(RowGrain, w.Kernels.Rows), cost);
                chunks += _rowPlans[j].Count;
            }
            if (pool.Pays(cost))
            {
                pool.Run(this, chunks);
                continue;
            }
            // Products too small to share are one chunk each, still several chunks in all: done here.
            for (int c = 0; c < chunks; c++)
                Execute(0, c);
        }
    }

    public void Run(float* x, int tokens, MatMulTarget target) => Run(x, tokens, [target]);

    private void Convert(ActivationFormat format, int k, int tokens)
    {
        _format = format;
        long bytes = (long)format.RowBytes(k) * tokens;
        if (_xq is null || _xq.Bytes < bytes)
        {
            _xq?.Dispose();
            _xq = new AlignedBuffer(bytes);
        }
        _quantizing = true;
        _tokenPlan = pool.Plan(tokens, 1, (long)tokens * k);
        pool.Run(this, _tokenPlan.Count);
    }

    /// <summary>Chunk <paramref name="chunk"/>: tokens to convert, or rows of one of the products (numbered product after product).</summary>
    public void Execute(int thread, int chunk)
    {
        if (_quantizing)
        {
            int rowBytes = _format!.RowBytes(_k);
            for (int t = _tokenPlan.Start(chunk); t < _tokenPlan.End(chunk); t++)
                _format.Quantize(new ReadOnlySpan<float>(_x + (long)t * _k, _k), new Span<byte>(_xq!.Pointer + (long)t * rowBytes, rowBytes));
            return;
        }
        int i = 0;
        for (; chunk >= _rowPlans[i].Count; i++)
            chunk -= _rowPlans[i].Count;
        Multiply(_targets[i], _rowPlans[i].Start(chunk), _rowPlans[i].End(chunk), thread);
    }

    private void Multiply(in MatMulTarget target, int r0, int r1, int thread)
    {
        var w = target.W;
        byte* rows = w.Data + r0 * w.RowBytes;
        if (_tokens == 1)
        {
            w.Kernels.Gemv(rows, _xq!.Pointer, target.Y + r0, r1 - r0, w.K);
            return;
        }
        nint xRowBytes = _format!.RowBytes(_k);
        if (w.PanelKernels is { } f32 && _tokens >= PanelMinTokens)
        {
            MultiplyByPanels(target, f32, r0, r1, xRowBytes, thread);
            return;
        }
        for (int c = 0; c < _tokens; c += TokenChunk)
        {
            int cols = Math.Min(TokenChunk, _tokens - c);
            w.Kernels.Gemm(rows, _xq!.Pointer + c * xRowBytes, target.Y + (long)c * w.Rows + r0, r1 - r0, cols, w.K, w.Rows);
        }
    }

    /// <summary>
    /// F16 rows r0..r1 widened to floats <see cref="PanelRows"/> at a time (exactly: every half is a float) and
    /// multiplied by the F32 kernels: the same products of the same numbers as the F16 kernels, summed in the same
    /// lanes, without a conversion per weight per tile of tokens.
    /// </summary>
    private void MultiplyByPanels(in MatMulTarget target, KernelEntry f32, int r0, int r1, nint xRowBytes, int thread)
    {
        var w = target.W;
        float* panel = Panel(thread, (long)PanelRows * w.K);
        for (int p = r0; p < r1; p += PanelRows)
        {
            int n = Math.Min(PanelRows, r1 - p);
            w.WidenPanel(p, n, panel);
            for (int c = 0; c < _tokens; c += TokenChunk)
            {
                int cols = Math.Min(TokenChunk, _tokens - c);
                f32.Gemm((byte*)panel, _xq!.Pointer + c * xRowBytes, target.Y + (long)c * w.Rows + p, n, cols, w.K, w.Rows);
            }
        }
    }

    private float* Panel(int thread, long floats)
    {
        ref var buffer = ref _panels[thread];
        if (buffer is null || buffer.Bytes < floats * sizeof(float))
        {
            buffer?.Dispose();
            buffer = new AlignedBuffer(floats * sizeof(float));
        }
        return (float*)buffer.Pointer;
    }

    public void Dispose()
    {
        _xq?.Dispose();
        foreach (var panel in _panels)
            panel?.Dispose();
    }
}
