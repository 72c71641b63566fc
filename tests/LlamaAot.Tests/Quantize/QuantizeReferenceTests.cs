using LlamaAot.Gguf;
using LlamaAot.Tools;

namespace LlamaAot.Tests.Quantize;

/// <summary>
/// llama-aot's quantizer against llama.cpp's files in ../shared/models: the F32 model of each family quantized to
/// every type must give llama.cpp's tensors byte for byte, and llama.cpp's metadata.
/// <para>
/// How the references were made (their READMEs): every random-e256 file and the stories260K F16, BF16, Q2_K,
/// Q3_K_M, Q4_K_M, Q5_K_M, Q6_K and IQ4_XS files by llama-quantize b4748 itself: those must be identical to the last
/// byte, tensor order and padding included. llama-quantize refuses stories260K's 172-wide ffn_down for Q8_0, Q4_0,
/// Q4_1, Q5_0, Q5_1 and IQ4_NL, so those six were written by a small program calling ggml_quantize_chunk with
/// llama-quantize's policy and F16 for ffn_down; it kept the input's tensor order instead of llama-quantize's,
/// so for them the tensors and metadata are compared, not the file layout. The six architectures of models/arch
/// were quantized to Q8_0 and Q4_K_M by llama-quantize 0.5.0.
/// </para>
/// </summary>
public class QuantizeReferenceTests
{
    private static readonly string[] Types = ["F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"];

    /// <summary>The stories260K files that are not llama-quantize's output (its README), laid out in input order.</summary>
    private static readonly HashSet<string> Stories260KNotByLlamaQuantize = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string family in new[] { "stories260K", "random-e256" })
            foreach (string type in Types)
                data.Add(family, type);
        return data;
    }

    /// <summary>The six architectures of ../shared/models/arch, each quantized there by llama-quantize 0.5.0.</summary>
    private static readonly string[] Architectures = ["llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"];

    public static TheoryData<string, string> ArchitectureCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string arch in Architectures)
            foreach (string type in new[] { "Q8_0", "Q4_K_M" })
                data.Add(arch, type);
        return data;
    }

    internal static string Reference(string family, string type) => family switch
    {
        "stories260K" => Shared.Stories260K(type),
        "random-e256" => Path.Combine(Shared.Models, "random-e256", $"random-e256-l2-{type}.gguf"),
        _ => Path.Combine(Shared.Models, "arch", $"{family}-{type}.gguf"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void QuantizesLikeLlamaCpp(string family, string type) =>
        AssertQuantizesLikeLlamaCpp(family, type, sameLayout: !(family == "stories260K" && Stories260KNotByLlamaQuantize.Contains(type)));

    /// <summary>
    /// Fused attn_qkv and ffn_up (phi3), tied token_embd as output (qwen3, gemma2, gemma3), Q/K/V biases (qwen2),
    /// extra norms, rope_freqs (llama) and LongRoPE factors (phi3): llama-quantize 0.5.0's types, bytes and layout.
    /// </summary>
    [Theory]
    [MemberData(nameof(ArchitectureCases))]
    public void QuantizesEachArchitectureLikeLlamaCpp(string arch, string type) => AssertQuantizesLikeLlamaCpp(arch, type, sameLayout: true);

    private static void AssertQuantizesLikeLlamaCpp(string family, string type, bool sameLayout)
    {
        string output = TempFile.Path($"{family}-{type}");
        try
        {
            var recipe = QuantizeRecipe.Find(type)!;
            var summary = Quantizer.Quantize(Reference(family, "F32"), output, new QuantizeOptions { Recipe = recipe, Threads = 2 });
            string expectedPath = Reference(family, type);
            using (var expected = GgufFile.Open(expectedPath))
            using (var actual = GgufFile.Open(output))
            {
                GgufComparison.AssertSameTensors(expected, actual);
                GgufComparison.AssertSameMetadata(expected, actual);
                Assert.Equal((long)recipe.FileType, actual.Metadata.GetInt64("general.file_type"));
                Assert.Equal(2, actual.Metadata.GetInt64("general.quantization_version"));
                Assert.Equal(expected.Tensors.Sum(t => t.ByteSize), summary.BytesAfter);
                Assert.Equal(new FileInfo(output).Length, summary.FileBytes);
            }
            if (sameLayout)
                GgufComparison.AssertSameFileBytes(expectedPath, output);
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>The tensor order llama-quantize writes: non-block tensors by name, then each block's by name.</summary>
    [Fact]
    public void WritesLlamaQuantizesTensorOrder()
    {
        string[] names = ["blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight", "output.weight", "blk.2.attn_k.weight", "output_norm.weight", "blk.9.attn_v.weight"];
        Assert.Equal(
            ["output.weight", "output_norm.weight", "token_embd.weight", "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.9.attn_v.weight", "blk.10.attn_q.weight"],
            names.Order(Quantizer.WriteOrder));
    }

    /// <summary>Rows are split over threads; the bytes must not depend on how many.</summary>
    [Theory]
    [InlineData("Q4_K_M")]
    [InlineData("IQ4_XS")]
    [InlineData("Q4_0")]
    public void OutputDoesNotDependOnThreads(string type)
    {
        var paths = new[] { 1, 2, 3 }.Select(t => TempFile.Path($"threads-{type}-t{t}")).ToArray();
        try
        {
            for (int t = 0; t < paths.Length; t++)
                Quantizer.Quantize(Reference("random-e256", "F32"), paths[t], new QuantizeOptions { Recipe = QuantizeRecipe.Find(type)!, Threads = t + 1 });
            byte[] one = File.ReadAllBytes(paths[0]);
            Assert.Equal(one, File.ReadAllBytes(paths[1]));
            Assert.Equal(one, File.ReadAllBytes(paths[2]));
        }
        finally
        {
            foreach (string p in paths)
                File.Delete(p);
        }
    }

    /// <summary>
    /// F16 and BF16 sources are dequantized exactly: llama.cpp's F16 (BF16) file converted to F32 and back gives
    /// llama.cpp's F16 (BF16) tensors again.
    /// </summary>
    [Theory]
    [InlineData("stories260K", "F16")]
    [InlineData("random-e256", "BF16")]
    public void HalfSourcesRoundTrip(string family, string type)
    {
        string f32 = TempFile.Path($"{family}-{type}-f32"), back = TempFile.Path($"{family}-{type}-back");
        try
        {
            Quantizer.Quantize(Reference(family, type), f32, new QuantizeOptions { Recipe = QuantizeRecipe.Find("F32")! });
            using (var f = GgufFile.Open(f32))
                Assert.All(f.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));
            Quantizer.Quantize(f32, back, new QuantizeOptions { Recipe = QuantizeRecipe.Find(type)! });
            using var expected = GgufFile.Open(Reference(family, type));
            using var actual = GgufFile.Open(back);
            GgufComparison.AssertSameTensors(expected, actual);
        }
        finally
        {
            File.Delete(f32);
            File.Delete(back);
        }
    }

    [Fact]
    public void QuantizedSourceNeedsAllowRequantize()
    {
        string output = TempFile.Path("requantize");
        try
        {
            var options = new QuantizeOptions { Recipe = QuantizeRecipe.Find("Q4_0")! };
            var e = Assert.Throws<QuantizeException>(() => Quantizer.Quantize(Shared.Stories260K("Q8_0"), output, options));
            Assert.Contains("--allow-requantize", e.Message);
            Assert.False(File.Exists(output));

            Quantizer.Quantize(Shared.Stories260K("Q8_0"), output, options with { AllowRequantize = true });
            using var file = GgufFile.Open(output);
            Assert.Equal(GgmlType.Q4_0, file.FindTensor("blk.0.attn_q.weight")!.Type);
            Assert.Equal(GgmlType.Q8_0, file.FindTensor("output.weight")!.Type); // already the type the rules give it: copied
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void RefusesToOverwriteItsInput()
    {
        string copy = TempFile.Path("self");
        try
        {
            File.Copy(Shared.Stories260K("F32"), copy);
            var e = Assert.Throws<LlamaAot.Files.OutputFileException>(() => Quantizer.Quantize(copy, copy, new QuantizeOptions { Recipe = QuantizeRecipe.Find("Q8_0")! }));
            Assert.Equal($"cannot write {copy}: it is {copy}, which this command reads (the same file); write the output elsewhere", e.Message);
            Assert.Equal(new FileInfo(Shared.Stories260K("F32")).Length, new FileInfo(copy).Length);
        }
        finally
        {
            File.Delete(copy);
        }
    }
}

internal static class TempFile
{
    public static string Path(string name) => System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"llama-aot-test-{name}-{Environment.ProcessId}.gguf");
}
