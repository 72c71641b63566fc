using LlamaAot.Gguf;

namespace LlamaAot.Quants;

/// <summary>A block of quantized (or plain) values: the unit a row of a tensor is made of.</summary>
public interface IQuantBlock<TSelf> where TSelf : unmanaged, IQuantBlock<TSelf>
{
    /// <summary>Values per block (the struct's <c>BlockSize</c> constant).</summary>
    static abstract int ValuesPerBlock { get; }
}

/// <summary>
/// A weight format as stored in GGUF files, with its scalar reference: the definition of correct that every fast
/// kernel is tested against. <typeparamref name="TAct"/> is the activation format llama.cpp converts the other
/// operand of a matrix product to before multiplying (ggml's <c>vec_dot_type</c>).
/// </summary>
public interface IWeightFormat<TSelf, TAct> : IQuantBlock<TSelf>
    where TSelf : unmanaged, IWeightFormat<TSelf, TAct>
    where TAct : unmanaged, IActivationFormat<TAct>
{
    /// <summary>The wire type id.</summary>
    static abstract GgmlType Type { get; }

    /// <summary>Block values to floats (ggml <c>dequantize_row_*</c>).</summary>
    static abstract void Dequantize(ReadOnlySpan<TSelf> blocks, Span<float> y);

    /// <summary>Floats to blocks as llama.cpp's quantizer writes weights (ggml <c>quantize_row_*_ref</c>).</summary>
    static abstract void Quantize(ReadOnlySpan<float> x, Span<TSelf> blocks);

    /// <summary>
    /// <see cref="Dequantize"/>'s floats, bit for bit, through the format's SIMD twin where it has one (the quantize
    /// tool reads its source rows with it); the reference itself otherwise.
    /// </summary>
    static virtual void DequantizeFast(ReadOnlySpan<TSelf> blocks, Span<float> y) => TSelf.Dequantize(blocks, y);

    /// <summary>
    /// <see cref="Quantize"/>'s bytes, byte for byte, through the format's SIMD twin where it has one (the quantize
    /// tool's path); the reference itself otherwise.
    /// </summary>
    static virtual void QuantizeFast(ReadOnlySpan<float> x, Span<TSelf> blocks) => TSelf.Quantize(x, blocks);

    /// <summary>The dot product of a weight row with an activation row (ggml <c>ggml_vec_dot_*</c>, scalar).</summary>
    static abstract float Dot(ReadOnlySpan<TSelf> w, ReadOnlySpan<TAct> x);

    /// <summary>
    /// Whether none of the <paramref name="count"/> blocks holds an Inf or NaN: asked at load only of formats that have
    /// kernels for finite weights alone (<see cref="Kernels.KernelPrimitivesAttribute.FiniteWeightsOnly"/>).
    /// </summary>
    static virtual unsafe bool AllFinite(TSelf* blocks, long count) =>
        throw new NotSupportedException($"{TSelf.Type} has no finiteness check: it has no kernels for finite weights alone");
}

/// <summary>
/// An activation format: how a row of float activations is rounded or quantized before it meets a weight row.
/// Rounding exactly where llama.cpp rounds is what keeps logits close to llama.cpp's.
/// </summary>
public interface IActivationFormat<TSelf> : IQuantBlock<TSelf> where TSelf : unmanaged, IActivationFormat<TSelf>
{
    /// <summary>Floats to activation blocks the way llama.cpp's CPU backend does it (its <c>from_float</c>).</summary>
    static abstract void QuantizeActivations(ReadOnlySpan<float> x, Span<TSelf> blocks);
}
