using LlamaAot.Quants;

namespace LlamaAot.Kernels;

/// <summary>
/// Matrix kernels built from a format's scalar reference <c>Dot</c>, row by row: the definition of correct for the
/// generated kernels, and the path every format has even before it has SIMD primitives.
/// </summary>
internal static unsafe class ReferenceKernels
{
    public static void Gemv<TW, TA>(byte* w, byte* x, float* y, int rows, int k)
        where TW : unmanaged, IWeightFormat<TW, TA>
        where TA : unmanaged, IActivationFormat<TA>
    {
        int wBlocks = k / TW.ValuesPerBlock;
        var xs = new ReadOnlySpan<TA>(x, k / TA.ValuesPerBlock);
        for (int r = 0; r < rows; r++)
            y[r] = TW.Dot(new ReadOnlySpan<TW>(w + (nint)r * wBlocks * sizeof(TW), wBlocks), xs);
    }

    public static void Gemm<TW, TA>(byte* w, byte* x, float* y, int rows, int cols, int k, nint yStride)
        where TW : unmanaged, IWeightFormat<TW, TA>
        where TA : unmanaged, IActivationFormat<TA>
    {
        nint xRowBytes = (nint)(k / TA.ValuesPerBlock) * sizeof(TA);
        for (int c = 0; c < cols; c++)
            Gemv<TW, TA>(w, x + c * xRowBytes, y + c * yStride, rows, k);
    }

    public static KernelEntry EntryFor<TW, TA>()
        where TW : unmanaged, IWeightFormat<TW, TA>
        where TA : unmanaged, IActivationFormat<TA> =>
        new(TW.Type, KernelIsa.Reference, 0, TW.ValuesPerBlock, Formats.ActivationOf<TA>(), $"Reference_Gemv_{TW.Type}", &Gemv<TW, TA>, $"Reference_Gemm_{TW.Type}", &Gemm<TW, TA>);
}
