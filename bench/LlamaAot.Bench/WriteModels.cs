using System.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Model;

namespace LlamaAot.Bench;

/// <summary>
/// Writes the benchmark models: random weights at real model shapes with the Llama-2 vocabulary (32000 tokens).
/// <c>dotnet run -c Release --project bench/LlamaAot.Bench -- write-models [DIR] [SHAPE] [TYPE ...]</c>
/// SHAPE: tinyllama (n_embd 2048, 22 layers, 32 heads, 4 KV heads, n_ff 5632) or llama7b (4096 wide, 32 layers,
/// 32 heads, n_ff 11008). Types default to F16 Q8_0 Q4_0. Files are named &lt;shape&gt;-&lt;TYPE&gt;.gguf.
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
        var types = args.Length > 2 ? args[2..].Select(Enum.Parse<GgmlType>).ToArray() : [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];
        Directory.CreateDirectory(dir);
        string vocab = Path.Combine(FindShared(), "reference", "vocab", "ggml-vocab-llama-spm.gguf");
        foreach (var type in types)
        {
            string path = Path.Combine(dir, $"{shapeName}-{type}.gguf");
            var clock = Stopwatch.StartNew();
            long bytes = RandomModel.Write(path, Shapes[shapeName], type, vocab, seed: 1);
            Console.WriteLine($"{path}: {bytes / (double)(1L << 20):F1} MiB in {clock.Elapsed.TotalSeconds:F1} s");
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
