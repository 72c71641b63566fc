using LlamaAot.Gguf;
using LlamaAot.Model;
using LlamaAot.Quants;
using Xunit.Abstractions;

namespace LlamaAot.LlamaCpp.Tests;

/// <summary>
/// Models written by the test at shapes the shared references do not cover (other widths and head sizes, grouped
/// and full multi-head attention, several layers), in every weight type llama-aot computes with: logits at every
/// prompt position must be within 0.05 of llama.cpp's on the same file. Weights are random (std 0.02), so logits are
/// nearly flat (std ~0.3) and only numbers are compared, not greedy text; a wrong kernel misses by far more.
/// A type runs on a shape only where its block divides every row (384 is no multiple of a K-quant's 256).
/// </summary>
[Trait("Category", "Golden")]
public class RandomShapeTests(ITestOutputHelper output)
{
    private const double Tolerance = 0.05;
    private const string Prompt = "Once upon a time, Lily and Tom went to the park. They saw a big";

    public static readonly Dictionary<string, LlamaShape> Shapes = new()
    {
        ["e512-gqa4-l3"] = new(NEmbd: 512, NLayer: 3, NHead: 8, NHeadKv: 2, NFf: 1536),
        ["e384-mha-l2"] = new(NEmbd: 384, NLayer: 2, NHead: 6, NHeadKv: 6, NFf: 1024),
        ["e256-mha-l2"] = new(NEmbd: 256, NLayer: 2, NHead: 4, NHeadKv: 4, NFf: 768),
        ["e512-hd128-mqa"] = new(NEmbd: 512, NLayer: 2, NHead: 4, NHeadKv: 1, NFf: 1280),
        ["e768-gqa3-l1"] = new(NEmbd: 768, NLayer: 1, NHead: 12, NHeadKv: 4, NFf: 2048),
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (name, shape) in Shapes)
            foreach (var format in Formats.All.OrderBy(f => f.Type))
                if (shape.NEmbd % format.BlockSize == 0 && shape.NFf % format.BlockSize == 0)
                    data.Add(name, format.Type.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsMatchLlamaCpp(string shapeName, string typeName)
    {
        var type = Enum.Parse<GgmlType>(typeName);
        string path = Path.Combine(Path.GetTempPath(), $"llama-aot-{shapeName}-{typeName}-{Environment.ProcessId}.gguf");
        try
        {
            RandomModel.Write(path, Shapes[shapeName], type, Shared.Stories260KF32, seed: 7);
            var expected = LlamaCpp.Logits(path, Prompt, out int[] tokens);

            double worst = LlamaAotLogits.MaxDifference(path, Prompt, tokens, expected, threads: 2);
            output.WriteLine($"{shapeName} {typeName}: max |logit difference| {worst:G3}");
            Assert.True(worst <= Tolerance, $"{shapeName} {typeName}: max |logit difference| {worst:G3} > {Tolerance}");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
