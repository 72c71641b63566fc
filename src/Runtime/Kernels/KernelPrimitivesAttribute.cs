namespace LlamaAot.Kernels;

/// <summary>
/// Marks a static class as the small, hand-written SIMD primitives of one weight format x activation format x
/// instruction set. The kernel generator owns everything around them (loops, unrolling, tiles, tails, dispatch,
/// registry) and emits a matrix-vector and a matrix-matrix kernel from them, generic over the type that carries K
/// (<see cref="IInnerDimension"/>), instantiated for K at run time and for each K of the model shapes.
/// <para>The contract the class fulfils, with <c>TW</c>, <c>TX</c> any types it chooses and <c>Vector{N}&lt;float&gt;</c>
/// the accumulator of the instruction set (N = 512, 256, 128):</para>
/// <code>
/// public const int ValuesPerStep;                        // values consumed per step, a multiple of the block size
/// public static TW LoadWeights(byte* w);                 // unpack one step of weight blocks
/// public static TX LoadActivations(byte* x);             // load one step of activation blocks
/// public static Vector{N}&lt;float&gt; MulAdd(TW w, TX x, Vector{N}&lt;float&gt; acc); // acc + partial products
/// </code>
/// The lanes of the accumulators, summed, give the dot product. Every primitive must inline.
/// <para>A dot product whose float operations cannot all live in one vector's lanes (llama.cpp's AVX2 kernels keep
/// an offset or min sum beside their 8 lanes) may accumulate in a type of its own instead: MulAdd then takes and
/// returns that type, which declares <c>static TA Zero</c> (the start) and <c>static float Sum(TA acc)</c> (the dot
/// product).</para>
/// <para>Tails (a K that is not a multiple of the step) go through the weight format's scalar <c>Dot</c>; a class whose
/// activation format is not the weight format's own declares <c>static float Dot(ReadOnlySpan&lt;TW&gt;, ReadOnlySpan&lt;TX&gt;)</c>
/// for them instead.</para>
/// <para>An interleaved class (<c>const int Rows</c> with <c>Repack</c>) may declare <c>WidenScales</c>,
/// <c>ScalesPerStep</c> and <c>LoadWeights(byte* g, float* scales)</c>: the matrix-matrix kernel then widens each group's
/// scales once per call and loads its steps through that overload, while the matrix-vector kernel keeps
/// <c>LoadWeights(byte*)</c>. The two overloads may return different types, each met by its own <c>MulAdd</c> overload
/// (a form for one token and a form for tiles, e.g. Q8_0xQ8_0S_Avx512_X4); every <c>MulAdd</c> returns the same
/// accumulator type and computes the same operations, which the batch-invariance tests hold.</para>
/// <para>Every dot product has one accumulator, stepped in the same order by the matrix-vector and the matrix-matrix
/// kernels: a token's result does not depend on how many tokens share its call (BatchInvarianceTests). There is no
/// unrolling into several accumulators, which would sum in another order.</para>
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class KernelPrimitivesAttribute(Type weights, Type activations, KernelIsa isa) : Attribute
{
    /// <summary>The weight block struct (carries <see cref="Quants.QuantFormatAttribute"/>).</summary>
    public Type Weights { get; } = weights;

    /// <summary>The activation block struct.</summary>
    public Type Activations { get; } = activations;

    public KernelIsa Isa { get; } = isa;

    /// <summary>Weight rows per matrix-vector tile: each activation step is handed to this many rows in turn.</summary>
    public int GemvRows { get; set; } = 4;

    /// <summary>Weight rows per matrix-matrix tile: each unpacked weight step serves <see cref="GemmColumns"/> tokens.</summary>
    public int GemmRows { get; set; } = 4;

    /// <summary>Token columns per matrix-matrix tile.</summary>
    public int GemmColumns { get; set; } = 2;

    /// <summary>Interleaved classes: groups of <c>Rows</c> rows per matrix-vector tile, their accumulators advanced side by
    /// side (independent chains where one group's would wait on its own latency).</summary>
    public int GemvGroups { get; set; } = 1;

    /// <summary>Interleaved classes: groups per matrix-matrix tile (each activation step loaded once for all of them).</summary>
    public int GemmGroups { get; set; } = 1;

    /// <summary>
    /// The kernels are exact only when no weight is Inf or NaN (they widen weights in fewer instructions that leave
    /// those wrong): load checks each matrix and chooses them only for finite ones.
    /// </summary>
    public bool FiniteWeightsOnly { get; set; }
}

/// <summary>
/// One model family's matrix shapes: the generator emits a type carrying K (<see cref="IInnerDimension"/>) for
/// <see cref="NEmbd"/> and <see cref="NFf"/>, and the registry lists every kernel instantiated on it, where K is a
/// compile-time constant. Adding a shape is one line.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
internal sealed class ModelShapeAttribute(string family, int nEmbd, int nFf) : Attribute
{
    public string Family { get; } = family;

    /// <summary>Width of the residual stream: K of attn_q/k/v, attn_output and ffn_gate/up.</summary>
    public int NEmbd { get; } = nEmbd;

    /// <summary>Feed-forward width: K of ffn_down.</summary>
    public int NFf { get; } = nFf;
}
