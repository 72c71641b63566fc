namespace LlamaAot.Threading;

/// <summary>Facts about this machine's processors.</summary>
public static class CpuInfo
{
    /// <summary>
    /// Physical cores (hyper-threads of one core counted once), the default thread count as in llama.cpp. Read from
    /// Linux's CPU topology; elsewhere, the logical processor count.
    /// </summary>
    public static int PhysicalCores { get; } = CountPhysicalCores();

    private static int CountPhysicalCores()
    {
        try
        {
            var cores = new HashSet<string>();
            foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu", "cpu*"))
            {
                string siblings = Path.Combine(dir, "topology", "thread_siblings_list");
                if (File.Exists(siblings))
                    cores.Add(File.ReadAllText(siblings).Trim());
            }
            if (cores.Count > 0)
                return Math.Min(cores.Count, Environment.ProcessorCount);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return Environment.ProcessorCount;
    }
}
