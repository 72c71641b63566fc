using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using LlamaAot.Kernels;

namespace LlamaAot.Bench;

/// <summary>A throughput computed from a kernel benchmark's parameters and its median time.</summary>
internal sealed class ThroughputColumn(string name, Func<KernelBenchmarks, double, double> perSecond) : IColumn
{
    public string Id => "Throughput." + name;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{name} at the median time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } stats)
            return "-";
        var b = new KernelBenchmarks();
        foreach (var p in benchmarkCase.Parameters.Items)
            typeof(KernelBenchmarks).GetProperty(p.Name)!.SetValue(b, p.Value);
        return perSecond(b, stats.Median / 1e9).ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}

/// <summary>The instruction-set path the kernels ran on.</summary>
internal sealed class IsaColumn : IColumn
{
    public string Id => "Isa";
    public string ColumnName => "ISA";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 1;
    public bool IsNumeric => false;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Kernel path (LLAMA_AOT_ISA can force one)";
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => KernelIsas.Describe(KernelIsas.Best);
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
