using System.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Model;
using LlamaAot.Tools;

namespace LlamaAot.Bench;

/// <summary>
/// Writes the benchmark models: random weights at real model shapes with the Llama-2 vocabulary (32000 tokens).
/// <c>dotnet run -c Release --project bench/LlamaAot.Bench -- write-models [DIR] [SHAPE] [TYPE ...]</c>
/// SHAPE: tinyllama (n_embd 2048, 22 layers, 32 heads, 4 KV heads, n_ff 5632) or llama7b (4096 wide, 32 layers,
/// 32 heads, n_ff 11008). Types default to F16 Q8_0 Q4_0. Files are named &lt;shape&gt;-&lt;TYPE&gt;.gguf.
/// A plain tensor type (F16, Q8_0, Q4_0, ...) is written directly, every matrix in that type. A llama-quantize recipe
/// with a mixture (Q4_K_M, Q3_K_S, ...) is made as llama.cpp users make it: the F16 model (written first if missing)
/// quantized by llama-aot's own quantizer.
/// </summary>
internal static class WriteModels
{
    public static readonly Dictionary<string, LlamaShape> Shapes = new()
    {
        ["tinyllama"] = LlamaShape.TinyLlama,
        ["llama7b"] = new(4096, 32, 32, 32, 11008),
    };

    public static int Run(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : "bench-models";
        string shapeName = args.Length > 1 ? args[1] : "tinyllama";
        string[] types = args.Length > 2 ? args[2..] : ["F16", "Q8_0", "Q4_0"];
        Directory.CreateDirectory(dir);
        string vocab = Path.Combine(FindShared(), "reference", "vocab", "ggml-vocab-llama-spm.gguf");
        string F16Path() => Path.Combine(dir, $"{shapeName}-F16.gguf");
        foreach (string name in types)
        {
            var clock = Stopwatch.StartNew();
            if (Enum.TryParse<GgmlType>(name, ignoreCase: true, out var type))
            {
                string path = Path.Combine(dir, $"{shapeName}-{type}.gguf");
                long bytes = RandomModel.Write(path, Shapes[shapeName], type, vocab, seed: 1);
                Console.WriteLine($"{path}: {bytes / (double)(1L << 20):F1} MiB in {clock.Elapsed.TotalSeconds:F1} s");
                continue;
            }
            var recipe = QuantizeRecipe.Find(name) ?? throw new ArgumentException($"unknown type or recipe '{name}'; recipes: {QuantizeRecipe.Names}");
            if (!File.Exists(F16Path()))
                RandomModel.Write(F16Path(), Shapes[shapeName], GgmlType.F16, vocab, seed: 1);
            string output = Path.Combine(dir, $"{shapeName}-{recipe.Name}.gguf");
            var summary = Quantizer.Quantize(F16Path(), output, new QuantizeOptions { Recipe = recipe });
            Console.WriteLine($"{output}: {summary.FileBytes / (double)(1L << 20):F1} MiB ({summary.BitsPerWeightAfter:F2} bits per weight), quantized from {F16Path()} in {clock.Elapsed.TotalSeconds:F1} s");
        }
        return 0;
    }

    private static string FindShared()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "llama-aot.slnx")))
                return Path.Combine(d.Parent!.FullName, "shared");
        }
        throw new DirectoryNotFoundException("llama-aot.slnx not found above " + AppContext.BaseDirectory);
    }
}
