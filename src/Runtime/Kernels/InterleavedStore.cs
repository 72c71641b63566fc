using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LlamaAot.Kernels;

/// <summary>
/// Stores the per-row results of an interleaved group: the whole vector when the group is full, else only the
/// rows that exist (the last group of a matrix whose row count is not a multiple of the group).
/// </summary>
internal static unsafe class InterleavedStore
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows(Vector512<float> v, float* y, int count)
    {
        if (count >= Vector512<float>.Count)
        {
            v.Store(y);
            return;
        }

        Partial(v, y, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // its stackalloc must not land in a caller's loop
    private static void Partial(Vector512<float> v, float* y, int count)
    {
        float* buffer = stackalloc float[Vector512<float>.Count];
        v.Store(buffer);
        Copy(buffer, y, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows(Vector256<float> v, float* y, int count)
    {
        if (count >= Vector256<float>.Count)
        {
            v.Store(y);
            return;
        }

        Partial(v, y, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // its stackalloc must not land in a caller's loop
    private static void Partial(Vector256<float> v, float* y, int count)
    {
        float* buffer = stackalloc float[Vector256<float>.Count];
        v.Store(buffer);
        Copy(buffer, y, count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows(Vector128<float> v, float* y, int count)
    {
        if (count >= Vector128<float>.Count)
        {
            v.Store(y);
            return;
        }

        Partial(v, y, count);
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // its stackalloc must not land in a caller's loop
    private static void Partial(Vector128<float> v, float* y, int count)
    {
        float* buffer = stackalloc float[Vector128<float>.Count];
        v.Store(buffer);
        Copy(buffer, y, count);
    }

    private static void Copy(float* from, float* to, int count)
    {
        for (int i = 0; i < count; i++)
            to[i] = from[i];
    }
}
