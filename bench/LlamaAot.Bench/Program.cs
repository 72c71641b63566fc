using BenchmarkDotNet.Running;

namespace LlamaAot.Bench;

/// <summary>
/// Benchmark entry point. Examples:
///   dotnet run -c Release --project bench/LlamaAot.Bench -- --filter '*KernelBenchmarks*'
///   dotnet run -c Release --project bench/LlamaAot.Bench -- --filter '*KernelBenchmarks*' --anyCategories Q4_0
/// Results go to BenchmarkDotNet.Artifacts/; the tables quoted in issues are kept in bench/results/.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
