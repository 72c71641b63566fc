namespace LlamaAot.Generators.Tests.Infrastructure;

/// <summary>
/// A small stand-in for src/Runtime that the generator reads: the attribute declarations and the types generated
/// code refers to (copied in their minimal form), two block structs, three primitive classes in two files, and two
/// model shapes. Kept tiny so a full generator run plus a compile takes well under a second.
/// <para>Shapes: K = 64 (tiny, odd) and 96 (tiny) are multiples of every step; K = 100 (odd) is a multiple of no
/// Q8_0 block and of no F32 step, so every primitive falls back to its generic kernel there.</para>
/// </summary>
internal static class Fixture
{
    public const string ContractsPath = "Contracts.cs";
    public const string BlocksPath = "Quants/Blocks.cs";
    public const string F32SimdPath = "Quants/F32.Simd.cs";
    public const string Q8SimdPath = "Quants/Q8_0.Simd.cs";
    public const string ShapesPath = "Kernels/ModelShapes.cs";

    public const string Contracts = """
        using System;

        namespace LlamaAot.Gguf
        {
            public enum GgmlType : uint { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8 }
        }

        namespace LlamaAot.Quants
        {
            [AttributeUsage(AttributeTargets.Struct, Inherited = false)]
            public sealed class QuantFormatAttribute(LlamaAot.Gguf.GgmlType type) : Attribute
            {
                public LlamaAot.Gguf.GgmlType Type { get; } = type;
            }
        }

        namespace LlamaAot.Quants
        {
            public static class Formats
            {
                public static object ActivationOf<T>() => typeof(T);
            }
        }

        namespace LlamaAot.Kernels
        {
            using LlamaAot.Gguf;

            public enum KernelIsa { Reference = -1, Portable = 0, Avx2 = 1, Avx512 = 2 }

            [AttributeUsage(AttributeTargets.Class, Inherited = false)]
            internal sealed class KernelPrimitivesAttribute(Type weights, Type activations, KernelIsa isa) : Attribute
            {
                public Type Weights { get; } = weights;
                public Type Activations { get; } = activations;
                public KernelIsa Isa { get; } = isa;
                public int GemvRows { get; set; } = 4;
                public int GemmRows { get; set; } = 4;
                public int GemmColumns { get; set; } = 2;
                public int GemvGroups { get; set; } = 1;
                public int GemmGroups { get; set; } = 1;
                public bool FiniteWeightsOnly { get; set; }
            }

            [AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
            internal sealed class ModelShapeAttribute(string family, int nEmbd, int nFf) : Attribute
            {
                public string Family { get; } = family;
                public int NEmbd { get; } = nEmbd;
                public int NFf { get; } = nFf;
            }

            internal sealed unsafe class KernelEntry(
                GgmlType weights, KernelIsa isa, int k, int valuesPerStep, object activations,
                string gemvName, delegate*<byte*, byte*, float*, int, int, void> gemv,
                string gemmName, delegate*<byte*, byte*, float*, int, int, int, nint, void> gemm)
            {
                public GgmlType Weights { get; } = weights;
                public KernelIsa Isa { get; } = isa;
                public int K { get; } = k;
                public int ValuesPerStep { get; } = valuesPerStep;
                public object Activations { get; } = activations;
                public string GemvName { get; } = gemvName;
                public string GemmName { get; } = gemmName;
                public delegate*<byte*, byte*, float*, int, int, void> Gemv { get; } = gemv;
                public delegate*<byte*, byte*, float*, int, int, int, nint, void> Gemm { get; } = gemm;
                public int Rows { get; init; } = 1;
                public delegate*<byte*, nint, int, int, byte*, void> Repack { get; init; }
            }

            internal interface IInnerDimension
            {
                static abstract bool IsFixed { get; }
                static abstract int K { get; }
            }

            internal readonly struct RunTimeK : IInnerDimension
            {
                public static bool IsFixed => false;
                public static int K => 0;
            }

            internal static unsafe class WeightPrefetch
            {
                public const int GemmStepBytes = 512;
                public static void Ahead(byte* p, nint bytes) { }
                public static void At(byte* p, nint bytes) { }
            }

            internal static unsafe class KernelScratch
            {
                public static float* Floats(int count) => null;
            }

            internal static unsafe partial class KernelRegistry
            {
                public static readonly KernelEntry[] Entries = CreateGeneratedEntries();

                private static partial KernelEntry[] CreateGeneratedEntries();
            }
        }
        """;

    public const string Blocks = """
        using System;
        using LlamaAot.Gguf;

        namespace LlamaAot.Quants;

        /// <summary>One float per block.</summary>
        [QuantFormat(GgmlType.F32)]
        public struct BlockF32
        {
            public const int BlockSize = 1;
            public float Value;

            public static float Dot(ReadOnlySpan<BlockF32> w, ReadOnlySpan<BlockF32> x)
            {
                float sum = 0;
                for (int i = 0; i < w.Length; i++)
                    sum += w[i].Value * x[i].Value;
                return sum;
            }
        }

        /// <summary>32 signed bytes and a scale (the scale as a float here, a half in the real format).</summary>
        [QuantFormat(GgmlType.Q8_0)]
        public unsafe struct BlockQ8_0
        {
            public const int BlockSize = 32;
            public float D;
            public fixed sbyte Qs[BlockSize];

            public static float Dot(ReadOnlySpan<BlockQ8_0> w, ReadOnlySpan<BlockQ8_0> x)
            {
                float sum = 0;
                for (int i = 0; i < w.Length; i++)
                {
                    int q = 0;
                    for (int j = 0; j < BlockSize; j++)
                        q += w[i].Qs[j] * x[i].Qs[j];
                    sum += q * w[i].D * x[i].D;
                }
                return sum;
            }
        }
        """;

    public const string F32Simd = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants;

        [KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx2)]
        internal static unsafe class F32xF32_Avx2
        {
            public const int ValuesPerStep = 8;
            public static Vector256<float> LoadWeights(byte* w) => Vector256.Load((float*)w);
            public static Vector256<float> LoadActivations(byte* x) => Vector256.Load((float*)x);
            public static Vector256<float> MulAdd(Vector256<float> w, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(w, x, acc);
        }

        [KernelPrimitives(typeof(BlockF32), typeof(BlockF32), KernelIsa.Avx512)]
        internal static unsafe class F32xF32_Avx512
        {
            public const int ValuesPerStep = 16;
            public static Vector512<float> LoadWeights(byte* w) => Vector512.Load((float*)w);
            public static Vector512<float> LoadActivations(byte* x) => Vector512.Load((float*)x);
            public static Vector512<float> MulAdd(Vector512<float> w, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(w, x, acc);
        }
        """;

    /// <summary>Tiles narrower than the defaults, so the named arguments visibly reach the snapshot.</summary>
    public const string Q8Simd = """
        using System.Runtime.Intrinsics;
        using LlamaAot.Kernels;

        namespace LlamaAot.Quants;

        [KernelPrimitives(typeof(BlockQ8_0), typeof(BlockQ8_0), KernelIsa.Avx2, GemvRows = 2, GemmRows = 2, GemmColumns = 1)]
        internal static unsafe class Q8_0xQ8_0_Avx2
        {
            public const int ValuesPerStep = BlockQ8_0.BlockSize;

            public readonly record struct Block(Vector256<sbyte> Q, float D);

            public static Block LoadWeights(byte* w) => new(Vector256.Load(((BlockQ8_0*)w)->Qs), ((BlockQ8_0*)w)->D);

            public static Block LoadActivations(byte* x) => new(Vector256.Load(((BlockQ8_0*)x)->Qs), ((BlockQ8_0*)x)->D);

            public static Vector256<float> MulAdd(in Block w, in Block x, Vector256<float> acc)
            {
                var (wLo, wHi) = Vector256.Widen(w.Q);
                var (xLo, xHi) = Vector256.Widen(x.Q);
                var (p0, p1) = Vector256.Widen(wLo * xLo);
                var (p2, p3) = Vector256.Widen(wHi * xHi);
                return Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(p0 + p1 + p2 + p3), Vector256.Create(w.D * x.D), acc);
            }
        }
        """;

    public const string Shapes = """
        namespace LlamaAot.Kernels;

        [ModelShape("tiny", 64, 96)]
        [ModelShape("odd", 64, 100)]
        internal static partial class ModelShapes;
        """;

    public static (string Path, string Text)[] Files =>
    [
        (ContractsPath, Contracts),
        (BlocksPath, Blocks),
        (F32SimdPath, F32Simd),
        (Q8SimdPath, Q8Simd),
        (ShapesPath, Shapes),
    ];

    /// <summary>The fixture with one file's text replaced.</summary>
    public static (string Path, string Text)[] With(string path, string text) =>
        Files.Select(f => f.Path == path ? (path, text) : f).ToArray();
}
