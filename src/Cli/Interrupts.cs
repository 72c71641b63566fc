using System.Runtime.InteropServices;
using LlamaAot.Files;

namespace LlamaAot.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM during a command that writes files: the temporary file of every unfinished output is
/// deleted, so each output path keeps what it held before, and the process exits at once with 130 or 143, the codes a
/// shell gives those signals. SIGKILL cannot be caught: it may leave a temporary file, never a partial output.
/// </summary>
internal static class Interrupts
{
    private static PosixSignalRegistration[]? s_registrations;

    /// <summary>Installs the handlers for the rest of the process.</summary>
    public static void DeleteUnfinishedOutputs() =>
        s_registrations ??= [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];

    private static void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        var abandoned = AtomicOutputFile.AbandonAll();
        Console.Error.WriteLine(abandoned.Count == 0 ? "error: interrupted" : $"error: interrupted; {string.Join(", ", abandoned)} was not written");
        Environment.Exit(context.Signal == PosixSignal.SIGINT ? ExitCodes.Interrupted : ExitCodes.Terminated);
    }
}
