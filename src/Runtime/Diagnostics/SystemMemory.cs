using System.Globalization;

namespace LlamaAot.Diagnostics;

/// <summary>How much memory this machine has, to refuse early (with a clear message) what cannot fit.</summary>
internal static class SystemMemory
{
    /// <summary>Physical memory in bytes (Linux MemTotal; elsewhere what the GC reports).</summary>
    public static long Total => ReadMeminfo("MemTotal:") ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Memory available for new allocations without swapping (Linux MemAvailable).</summary>
    public static long Available => ReadMeminfo("MemAvailable:") ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    public static string GiB(long bytes) => (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB";

    private static long? ReadMeminfo(string key)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith(key, StringComparison.Ordinal))
                    continue;
                string[] parts = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
