namespace LlamaAot.Kernels;

/// <summary>
/// The inner dimension K of a matrix product, carried by a type: every generated kernel is generic over one
/// (<c>Gemv_Q4_0xQ8_0_Avx512_R4&lt;TK&gt;</c>), and the registry points at its instantiations. Value-type
/// instantiations are compiled separately (by the JIT and by NativeAOT alike), so in the one for a model shape's K
/// (a generated struct such as <c>K4096</c>) K is a constant: trip counts and strides fold, and a tail that cannot
/// occur is compiled away. <see cref="RunTimeK"/> gives the kernel that takes K from its argument.
/// </summary>
internal interface IInnerDimension
{
    /// <summary>Whether K is the constant <see cref="K"/> (the kernel then ignores its k argument).</summary>
    static abstract bool IsFixed { get; }

    /// <summary>The constant K, or 0 when K comes from the kernel's argument.</summary>
    static abstract int K { get; }
}

/// <summary>K at run time: the instantiation that serves any K (the generic kernel).</summary>
internal readonly struct RunTimeK : IInnerDimension
{
    public static bool IsFixed => false;

    public static int K => 0;
}
