using LlamaAot.Gguf;
using LlamaAot.Kernels;
using LlamaAot.Model;
using LlamaAot.Threading;

namespace LlamaAot.Tests.Model;

/// <summary>
/// Batch invariance (issue 12): a matrix product gives each token's outputs bit for bit what that token alone gets,
/// whatever the number of tokens in the call, so a request's output does not depend on what shares its batch and a
/// prefix evaluated in another split gives the same cache. Every weight type of the random-e256 files (one matrix of
/// each type and row length), through MatMul as the model runs it (matrix-vector, matrix-matrix tiles and their
/// remainders, repacked layouts, F16 panels, two threads), on the path the process runs (test.sh reruns the Isa tests
/// on AVX2 and portable).
/// </summary>
[Trait("Category", "Isa")]
public sealed unsafe class BatchInvarianceTests
{
    private static readonly int[] TokenCounts = [2, 3, 4, 5, 7, 8, 9, 13, 16, 37];

    public static TheoryData<string> Files() =>
        [.. Directory.GetFiles(Path.Combine(Shared.Models, "random-e256"), "*.gguf").Select(f => Path.GetFileName(f)).Order()];

    [Theory]
    [MemberData(nameof(Files))]
    public void EveryTokenGetsWhatItGetsAlone(string file)
    {
        using var gguf = GgufFile.Open(Path.Combine(Shared.Models, "random-e256", file));
        var matrices = gguf.Tensors.Where(t => t.Shape.Length == 2 && t.Rows > 1).DistinctBy(t => (t.Type, t.Columns)).ToList();
        Assert.NotEmpty(matrices);
        using var pool = new WorkerPool(2);
        using var matMul = new MatMul(pool);
        foreach (var tensor in matrices)
        {
            using var w = WeightMatrix.Load(gguf, tensor.Name, (int)tensor.Columns, (int)tensor.Rows, KernelIsas.Best, releaseFile: false);
            int most = TokenCounts.Max();
            var random = new Random(12);
            var x = new float[most * w.K];
            for (int i = 0; i < x.Length; i++)
                x[i] = (float)(random.NextDouble() * 2 - 1);
            var alone = new float[most * w.Rows];
            var batched = new float[most * w.Rows];
            fixed (float* xp = x, ya = alone, yb = batched)
            {
                for (int t = 0; t < most; t++)
                    matMul.Run(xp + t * w.K, 1, new MatMulTarget(w, ya + t * w.Rows));
                foreach (int n in TokenCounts)
                {
                    matMul.Run(xp, n, new MatMulTarget(w, yb));
                    for (int i = 0; i < n * w.Rows; i++)
                        Assert.True(BitConverter.SingleToInt32Bits(alone[i]) == BitConverter.SingleToInt32Bits(batched[i]),
                            $"{tensor} ({KernelIsas.Best}): {n} tokens, token {i / w.Rows} row {i % w.Rows}: {batched[i]:R}, alone {alone[i]:R}");
                }
            }
        }
    }
}
