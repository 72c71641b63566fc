using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using LlamaAot.Kernels;

namespace LlamaAot.Quants;

// Q8_0 weights x Q8_0 activations (ggml_vec_dot_q8_0_q8_0). Signed x signed bytes: vpmaddubsw (or vpdpbusd) needs
// an unsigned first operand, so the weights' absolute values meet the activations with the weights' signs applied;
// the pair sums cannot saturate because |q| <= 127. Each block's integer sum is exact, then scaled by d_w * d_x and
// accumulated in float lanes.
//
// Every path (the portable one in two 128-bit halves) reproduces llama.cpp's AVX2 kernel (which its AVX-512 builds run too, and whose order its batched
// tinyBLAS path shares) bit for bit: one block per step, ggml's eight lane sums in GgmlLanes' layout,
// acc = fma(d_w * d_x, lane sums, acc), one accumulator per dot product. A faster AVX-512 form
// with two blocks per step agreed with llama.cpp's logits to 4e-6 on short prompts, but over 128-token perplexity
// chunks its last-bit differences moved re-quantized activations enough to put stories260K's perplexity 0.12%
// off llama-perplexity's (the bound is 0.1%); this form is within 0.05%. The AVX-512 path does the same 256-bit
// integer work with the float lanes in the lower half of a Vector512 (upper half zero), which Vector512.Sum adds
// last.

/// <summary>The integer work both x86 paths share, in <see cref="GgmlLanes"/>' layout.</summary>
internal static unsafe class Q8_0xQ8_0_X86
{
    public readonly record struct Block(Vector256<sbyte> Q, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block Load(byte* p)
    {
        var b = (BlockQ8_0*)p;
        return new(GgmlLanes.FromValueOrder(Vector256.Load(b->Qs)), Fp16.HalfBitsToSingle(b->D));
    }

    /// <summary>ggml's eight exact lane sums of q_w * q_x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LaneSums(in Block w, in Block x) => Vector256.ConvertToSingle(Int8Dot.SumQuadsSigned(w.Q, x.Q));
}

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx512)]
internal static unsafe class Q8_0xQ8_0_Avx512
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadWeights(byte* w) => Q8_0xQ8_0_X86.Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadActivations(byte* x) => Q8_0xQ8_0_X86.Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(in Q8_0xQ8_0_X86.Block w, in Q8_0xQ8_0_X86.Block x, Vector512<float> acc) =>
        Vector512.FusedMultiplyAdd(Vector512.Create(w.D * x.D), Q8_0xQ8_0_X86.LaneSums(w, x).ToVector512(), acc);
}

/// <summary>
/// ggml_vec_dot_q8_0_q8_0's order of operations over groups of 4 rows (<see cref="Q8_0RowBlocks"/>):
/// each row keeps ggml's eight float lanes in a vector of its own (<see cref="Lanes4PerRow"/>), so every row's result is
/// ggml_vec_dot_q8_0_q8_0's bit for bit; the group's 4 half scales are widened in one vector per step instead of one
/// scalar conversion per row and block, and the activation scale is already a float.
/// <para>The matrix-matrix tile is 4 rows x 2 tokens, as tinyBLAS's AVX2 Q8_0 kernel (gemm4xN&lt;2&gt;) tiles it. A third
/// token (12 accumulators) made RyuJIT spill accumulators and quants to the stack every step: 77 against 78-79 GFLOP/s
/// at K = 2048, 74 against 78 at K = 5632 (one core,
/// `kernel-rate Q8_0`, 64 tokens, no AVX-512 and no VNNI). The matrix-matrix kernel takes the 4 scales of each step
/// widened once per call (<see cref="WidenScales"/>): widening them per tile of tokens cost 66 against 72-76 GFLOP/s.
/// (Groups of 8 rows, one token per tile, reloaded and re-signed every weight block for each token: 50-53 against
/// 66-69.) Each token's four scale products d_w * d_x are one multiply, spread to the rows by in-lane shuffles
/// (vshufps), not lane-crossing permutes that need an index register each. The rows' absolute values are taken once
/// per step (<see cref="Weights"/>), not once per token: 78 -> 81-82 GFLOP/s. Even at 2 tokens the 8 accumulators,
/// the 4 absolute values and the step's temporaries do not all fit 16 registers: the x86-64-v3 binary keeps 4 of the
/// accumulators on the stack (seen in `perf annotate`).</para>
/// </summary>
[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0S), KernelIsa.Avx2, GemmColumns = 2)]
internal static unsafe class Q8_0xQ8_0S_Avx2_X4
{
    public const int Rows = 4;
    public const int ValuesPerStep = BlockQ8_0.BlockSize;
    private const int ScaleBytes = Rows * 2;

    /// <summary>One block of the 4 rows: where their quants are, their absolute values, and their scales.</summary>
    public readonly struct Weights(byte* q, Vector128<float> d)
    {
        public readonly byte* Q = q;
        public readonly Vector128<float> D = d;
        public readonly Vector256<byte> A0 = Avx2.Abs(Vector256.Load((sbyte*)q));
        public readonly Vector256<byte> A1 = Avx2.Abs(Vector256.Load((sbyte*)(q + 1 * BlockQ8_0.BlockSize)));
        public readonly Vector256<byte> A2 = Avx2.Abs(Vector256.Load((sbyte*)(q + 2 * BlockQ8_0.BlockSize)));
        public readonly Vector256<byte> A3 = Avx2.Abs(Vector256.Load((sbyte*)(q + 3 * BlockQ8_0.BlockSize)));
    }

    /// <summary>One activation block: its quants and its scale.</summary>
    public readonly struct Activations(Vector256<sbyte> q, float d)
    {
        public readonly Vector256<sbyte> Q = q;
        public readonly float D = d;
    }

    /// <summary>Floats of one step's scales widened for the matrix-matrix kernel: one per row.</summary>
    public const int ScalesPerStep = Rows;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g) => new(g + ScaleBytes, HalfVectors.LoadAsSingle128((ushort*)g));

    /// <summary>The step at <paramref name="g"/> with its scales already widened (<see cref="WidenScales"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g, float* scales) => new(g + ScaleBytes, Vector128.Load(scales));

    /// <summary>The scales of a group's <paramref name="steps"/> steps, as <see cref="LoadWeights(byte*)"/> widens them.</summary>
    /// <remarks>The steps' half scales are gathered first and widened 16 at a time (<see cref="HalfVectors.ToSingle(ushort*, float*, long)"/>),
    /// not 4 per step: 2.9% of a Q8_0 TinyLlama prompt's time before, on the AVX-512 path.</remarks>
    [SkipLocalsInit]
    public static void WidenScales(byte* g, int steps, float* scales)
    {
        const int Batch = 256; // steps gathered at a time: 2 KiB of stack whatever K is
        nint step = Q8_0RowBlocks.Step(Rows);
        ulong* halves = stackalloc ulong[Batch];
        for (int s0 = 0; s0 < steps; s0 += Batch)
        {
            int n = Math.Min(Batch, steps - s0);
            for (int s = 0; s < n; s++)
                halves[s] = *(ulong*)(g + (s0 + s) * step);
            HalfVectors.ToSingle((ushort*)halves, scales + s0 * ScalesPerStep, (long)n * ScalesPerStep);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0S*)x;
        return new(Vector256.Load(b->Qs), b->D);
    }

    /// <summary>Every row: lanes += (d_w * d_x) * (ggml's eight exact lane sums), as ggml_vec_dot_q8_0_q8_0 does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes4PerRow MulAdd(in Weights w, in Activations x, Lanes4PerRow acc)
    {
        var d4 = w.D * Vector128.Create(x.D);
        var d = Vector256.Create(d4, d4);
        return new(Row(w, x, Avx.Shuffle(d, d, 0x00), 0, acc.R0), Row(w, x, Avx.Shuffle(d, d, 0x55), 1, acc.R1),
            Row(w, x, Avx.Shuffle(d, d, 0xAA), 2, acc.R2), Row(w, x, Avx.Shuffle(d, d, 0xFF), 3, acc.R3));
    }

    /// <summary>Row r's lanes: |w| meets x with w's signs (ggml's mul_sum_i8_pairs_float), times its d_w * d_x (in every lane of d).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row(in Weights w, in Activations x, Vector256<float> d, int r, Vector256<float> acc)
    {
        var q = Vector256.Load((sbyte*)(w.Q + r * BlockQ8_0.BlockSize));
        var abs = r switch { 0 => w.A0, 1 => w.A1, 2 => w.A2, _ => w.A3 };
        return Vector256.FusedMultiplyAdd(d, Vector256.ConvertToSingle(Int8Dot.SumQuads(abs, Avx2.Sign(x.Q, q))), acc);
    }

    /// <summary>Each row's eight lanes reduced as hsum_float_8 reduces them; only the rows that exist are written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes4PerRow acc, float* y, int count) => acc.Store(y, count);

    /// <summary>Writes one group from <paramref name="rowCount"/> rows of the file's layout; a missing row is zeros.</summary>
    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q8_0RowBlocks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}

[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx2)]
internal static unsafe class Q8_0xQ8_0_Avx2
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadWeights(byte* w) => Q8_0xQ8_0_X86.Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0_X86.Block LoadActivations(byte* x) => Q8_0xQ8_0_X86.Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(in Q8_0xQ8_0_X86.Block w, in Q8_0xQ8_0_X86.Block x, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(w.D * x.D), Q8_0xQ8_0_X86.LaneSums(w, x), acc);
}

/// <summary>
/// The portable path in the same float operations as the x86 kernel: ggml's eight lane sums (lane k: values 4k..4k+3)
/// in the two halves of a <see cref="Lanes8x128"/>, acc = fma(d_w * d_x, lane sums, acc), hsum_float_8 at the end.
/// Int8Dot.Portable sums values j, j + 4, j + 8, j + 12 into lane j, so both operands' 16-byte halves are loaded
/// transposed (4 x 4 bytes) to make its lane k sum values 4k..4k+3.
/// </summary>
[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Portable)]
internal static unsafe class Q8_0xQ8_0_Portable
{
    public const int ValuesPerStep = BlockQ8_0.BlockSize;

    public readonly record struct Block(Vector128<sbyte> Q0, Vector128<sbyte> Q1, float D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadWeights(byte* w) => Load(w);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block LoadActivations(byte* x) => Load(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Block Load(byte* p)
    {
        var b = (BlockQ8_0*)p;
        var transpose = Vector128.Create((sbyte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        return new(Vector128.Shuffle(Vector128.Load(b->Qs), transpose), Vector128.Shuffle(Vector128.Load(b->Qs + 16), transpose), Fp16.HalfBitsToSingle(b->D));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes8x128 MulAdd(in Block w, in Block x, Lanes8x128 acc)
    {
        var d = Vector128.Create(w.D * x.D);
        return Lanes8x128.MulAdd(d, d, Vector128.ConvertToSingle(Int8Dot.Portable(w.Q0, x.Q0)), Vector128.ConvertToSingle(Int8Dot.Portable(w.Q1, x.Q1)), acc);
    }
}

/// <summary>
/// Q8_0 in groups of 4 rows on the AVX-512 path: <see cref="Q8_0xQ8_0S_Avx2_X4"/>'s layout and order of operations
/// (every row's result is ggml_vec_dot_q8_0_q8_0's bit for bit), with tiles of 4 rows x 4 tokens in 256-bit lanes
/// (16 accumulators, which 32 registers hold).
/// <para>On this path the weights' signs reach the activations by a masked blend (vpblendmb) rather than vpsignb:
/// vpsignb, like vpabsb, vpmaddubsw, vpmaddwd and the multiply-adds, runs on the two multiply pipes of an AMD Zen 4
/// core, and with no VNNI in .NET 10 those pipes bound the kernel (a throwaway loop of 6 independent chains: 6 FMAs
/// alone 4.0 cycles, with 6 vpsignb 6.0, with 6 masked blends 4.5). The masks are compared once per step and kept in
/// mask registers for the 4 tokens, and the rows' absolute values are taken once per step.</para>
/// <para>The matrix-vector kernel (<see cref="LoadWeights(byte*)"/>, one token) takes the 256-bit groups' own form:
/// with one token there is nothing to share a mask with, and the blend form read K = 5632 at 15.8 GB/s against 18.3.
/// Both forms compute the same integers and the same d_w * d_x, so a token's result does not depend on its batch.</para>
/// <para>Against the row pairs in 512-bit lanes that this replaces (one core of an AMD EPYC Zen 4, `kernel-rate Q8_0`,
/// 64 tokens, GFLOP/s): 76-77 -> 98-99 at K = 2048 and 5632. Steps to there: the same tiles with vpsignb (the AVX2
/// primitives) 89-90; masked blends 92-93; the activation scale multiplied from memory (a broadcast operand, where a
/// float field took a load and a broadcast) 96-98; scales read by a 128-bit broadcast load 98-99. Tried and not kept:
/// 3 tokens per tile 87, 6 tokens 69 (spills); the activations' absolute values meeting the weights with the
/// activations' signs (no vpabsb per step, two more operations per token) 89; products stored to memory for broadcast
/// multiply-adds (the store stopped RyuJIT from reusing the masks: 57). Matrix-vector, 256 MiB: 18.3-18.8 -> 19.5-19.9
/// GB/s at K = 2048, 18.2-19.4 -> 18.0-18.3 at K = 5632. Tokens in pairs in 512-bit lanes measured 80-88 against 100
/// for this form in a stand-alone copy: Zen 4 splits 512-bit operations into two 256-bit ones, so they save
/// instructions but not multiply-pipe time.</para>
/// </summary>
[KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0S), KernelIsa.Avx512, GemmColumns = 4)]
internal static unsafe class Q8_0xQ8_0S_Avx512_X4
{
    public const int Rows = Q8_0xQ8_0S_Avx2_X4.Rows;
    public const int ValuesPerStep = BlockQ8_0.BlockSize;
    private const int ScaleBytes = Rows * 2;

    /// <summary>Floats of one step's scales widened for the matrix-matrix kernel: one per row (read into both 128-bit lanes).</summary>
    public const int ScalesPerStep = Rows;

    /// <summary>One block of the 4 rows for the matrix-matrix kernel: where their quants are, their absolute values, and their scales (in both 128-bit lanes).</summary>
    public readonly struct Weights(byte* q, Vector256<float> d)
    {
        public readonly Vector256<float> D = d;
        public readonly sbyte* Q = (sbyte*)q;
        public readonly Vector256<byte> A0 = Avx2.Abs(Vector256.Load((sbyte*)q));
        public readonly Vector256<byte> A1 = Avx2.Abs(Vector256.Load((sbyte*)(q + 1 * BlockQ8_0.BlockSize)));
        public readonly Vector256<byte> A2 = Avx2.Abs(Vector256.Load((sbyte*)(q + 2 * BlockQ8_0.BlockSize)));
        public readonly Vector256<byte> A3 = Avx2.Abs(Vector256.Load((sbyte*)(q + 3 * BlockQ8_0.BlockSize)));
    }

    /// <summary>The matrix-vector kernel's step: the 256-bit groups' (<see cref="Q8_0xQ8_0S_Avx2_X4"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Q8_0xQ8_0S_Avx2_X4.Weights LoadWeights(byte* g) => Q8_0xQ8_0S_Avx2_X4.LoadWeights(g);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes4PerRow MulAdd(in Q8_0xQ8_0S_Avx2_X4.Weights w, in Activations x, Lanes4PerRow acc) => Q8_0xQ8_0S_Avx2_X4.MulAdd(w, new(x.Q, *x.D), acc);

    /// <summary>One activation block: its quants, and where its scale is (a multiply can take it from memory, broadcast).</summary>
    public readonly struct Activations(Vector256<sbyte> q, float* d)
    {
        public readonly Vector256<sbyte> Q = q;
        public readonly float* D = d;
    }

    /// <summary>The matrix-matrix kernel's step at <paramref name="g"/>, its scales already widened (<see cref="WidenScales"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Weights LoadWeights(byte* g, float* scales) => new(g + ScaleBytes, Avx.BroadcastVector128ToVector256(scales));

    /// <summary>The scales of a group's <paramref name="steps"/> steps, as the matrix-matrix kernel reads them.</summary>
    public static void WidenScales(byte* g, int steps, float* scales) => Q8_0xQ8_0S_Avx2_X4.WidenScales(g, steps, scales);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Activations LoadActivations(byte* x)
    {
        var b = (BlockQ8_0S*)x;
        return new(Vector256.Load(b->Qs), &b->D);
    }

    /// <summary>
    /// Every row: lanes += (d_w * d_x) * (ggml's eight exact lane sums). Each token's four scale products are one
    /// multiply, spread to the rows by in-lane shuffles; -x is taken once per token.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes4PerRow MulAdd(in Weights w, in Activations x, Lanes4PerRow acc)
    {
        var d = w.D * Vector256.Create(*x.D);
        var nx = Vector256<sbyte>.Zero - x.Q;
        return new(Row(w.Q, w.A0, x.Q, nx, Avx.Shuffle(d, d, 0x00), acc.R0), Row(w.Q + BlockQ8_0.BlockSize, w.A1, x.Q, nx, Avx.Shuffle(d, d, 0x55), acc.R1),
            Row(w.Q + 2 * BlockQ8_0.BlockSize, w.A2, x.Q, nx, Avx.Shuffle(d, d, 0xAA), acc.R2), Row(w.Q + 3 * BlockQ8_0.BlockSize, w.A3, x.Q, nx, Avx.Shuffle(d, d, 0xFF), acc.R3));
    }

    /// <summary>
    /// Row q's lanes: |q| meets x with q's signs (x where q &gt;= 0, -x where q &lt; 0: the pair sums stay within
    /// 2 * 127 * 127), times its d_w * d_x. The comparison reads q from memory so that RyuJIT computes it once per step
    /// into a mask register and blends with it for every token.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row(sbyte* q, Vector256<byte> abs, Vector256<sbyte> x, Vector256<sbyte> nx, Vector256<float> d, Vector256<float> acc)
    {
        var signed = Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Load(q), Vector256<sbyte>.Zero), nx, x);
        return Vector256.FusedMultiplyAdd(d, Vector256.ConvertToSingle(Int8Dot.SumQuads(abs, signed)), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Lanes4PerRow acc, float* y, int count) => acc.Store(y, count);

    public static void Repack(byte* src, nint srcRowBytes, int rowCount, int k, byte* dst) => Q8_0RowBlocks.Repack(src, srcRowBytes, rowCount, k, dst, Rows);
}
