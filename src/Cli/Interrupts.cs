using System.Runtime.InteropServices;
using LlamaAot.Files;

namespace LlamaAot.Cli;

/// <summary>
/// SIGINT (Ctrl+C) and SIGTERM during a command that writes files: the temporary file of every unfinished output is
/// deleted, so each output path keeps what it held before, then the signal ends the process as it would have (a shell
/// reports 130 or 143). SIGKILL cannot be caught: it may leave a temporary file, never a partial output.
/// </summary>
internal static class Interrupts
{
    private static PosixSignalRegistration[]? s_registrations;

    /// <summary>Installs the handlers for the rest of the process.</summary>
    public static void DeleteUnfinishedOutputs() =>
        s_registrations ??= [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];

    // Not cancelled: the signal's default action follows and ends the process at once, so no other thread can go on
    // to report success (a thread that reaches AtomicOutputFile.Commit waits for the end).
    private static void OnSignal(PosixSignalContext context)
    {
        var abandoned = AtomicOutputFile.AbandonAll();
        if (abandoned.Count > 0)
            Console.Error.WriteLine($"error: interrupted; {string.Join(", ", abandoned)} was not written");
    }
}
