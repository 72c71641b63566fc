using BenchmarkDotNet.Running;

namespace LlamaAot.Bench;

/// <summary>
/// Benchmark entry point. Examples:
///   dotnet run -c Release --project bench/LlamaAot.Bench -- --filter '*KernelBenchmarks*'
///   dotnet run -c Release --project bench/LlamaAot.Bench -- --filter '*KernelBenchmarks*' --anyCategories Q4_0
///   dotnet run -c Release --project bench/LlamaAot.Bench -- write-models bench-models tinyllama F16 Q8_0 Q4_0 Q4_K_M
///   dotnet run -c Release --project bench/LlamaAot.Bench -- serve-throughput publish/llama-aot bench-models/tinyllama-Q4_0.gguf --llama-server PATH
///   dotnet run -c Release --project bench/LlamaAot.Bench -- grammar-speed publish/llama-aot ../shared/models/stories260K/stories260K-Q8_0.gguf --tokens 64
///   DOTNET_TieredCompilation=0 dotnet run -c Release --project bench/LlamaAot.Bench -- kernel-rate F16 2048
/// Results go to BenchmarkDotNet.Artifacts/; the tables quoted in issues are kept in bench/results/.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            Console.Error.WriteLine($"error: a number in the command line is not one: {e.Message} (see the usage in the command's file)");
            return 2;
        }
        catch (InvalidOperationException e)
        {
            // A tool under test failed (a run's exit code, a server that did not start): its own words, then stop.
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "write-models")
            return WriteModels.Run(args[1..]);
        if (args.Length > 0 && args[0] == "kernel-rate")
            return KernelRate.Run(args[1..]);
        if (args.Length > 0 && args[0] == "side-by-side")
            return SideBySide.Run(args[1..]);
        if (args.Length > 0 && args[0] == "serve-throughput")
            return ServeThroughput.Run(args[1..]);
        if (args.Length > 0 && args[0] == "grammar-speed")
            return GrammarSpeed.Run(args[1..]);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
