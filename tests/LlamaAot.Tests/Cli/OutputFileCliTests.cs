using System.Buffers.Binary;
using System.Diagnostics;
using LlamaAot.Gguf;
using LlamaAot.Tests.Conversion;
using LlamaAot.Tests.Gguf;

namespace LlamaAot.Tests.Cli;

/// <summary>
/// The commands that write files (quantize, convert, logits -o) never destroy or half-write one: a device, FIFO or
/// directory in the output's place is refused and left alone; an output that is one of the inputs is refused; a
/// failure, a full disk, SIGINT or SIGTERM leave the output path as it was and no temporary file beside it.
/// </summary>
public sealed class OutputFileCliTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string F32 => Shared.Stories260K("F32");

    /// <summary>A command writing <paramref name="output"/>: quantize, convert or logits -o.</summary>
    private static string[] Writing(string command, string output) => command switch
    {
        "quantize" => ["quantize", F32, output, "Q8_0"],
        "convert" => ["convert", ConvertFixture.Stories260KBin, output, "--vocab", ConvertFixture.Tok512],
        _ => ["logits", "-m", F32, "-p", LongPrompt, "-o", output],
    };

    // About 60 tokens: logits JSON of some 300 KB.
    private const string LongPrompt = "Once upon a time there was a little girl named Lily. She liked to play in the park with her friends. One day she saw a big red ball under a tree and she wanted to play with it.";

    public static TheoryData<string, string> CommandsAndKinds()
    {
        var data = new TheoryData<string, string>();
        foreach (string command in new[] { "quantize", "convert", "logits" })
        {
            data.Add(command, "fifo");
            data.Add(command, "directory");
            if (IsRoot)
                data.Add(command, "device"); // mknod needs root (CI runs as root)
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandsAndKinds))]
    public void NonRegularOutputIsRefusedAndLeftAlone(string command, string kind)
    {
        string output = _dir.File("special");
        string expected = kind switch
        {
            "fifo" => Make("mkfifo", output, "a FIFO (named pipe)"),
            "device" => Make("mknod", output, "a character device", "c", "1", "7"), // what /dev/full is
            _ => MakeDirectory(output),
        };
        var r = LlamaAotProcess.Run(Writing(command, output));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: cannot write {output}: it is {expected}, not a regular file; name a file to write", r.Stderr.Trim());
        Assert.Equal(expected, Kind(output));
        Assert.Equal(["special"], Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("same path")]
    [InlineData("symbolic link")]
    [InlineData("dot-dot")]
    [InlineData("hard link")]
    public void ConvertRefusesToOverwriteItsVocabulary(string how)
    {
        string vocab = _dir.File("tok512.bin");
        File.Copy(ConvertFixture.Tok512, vocab);
        Directory.CreateDirectory(_dir.File("sub"));
        string output = how switch
        {
            "symbolic link" => File.CreateSymbolicLink(_dir.File("link.gguf"), vocab).FullName,
            "dot-dot" => Path.Combine(_dir.Path, "sub", "..", "tok512.bin"),
            "hard link" => HardLink(vocab, _dir.File("hard.gguf")),
            _ => vocab,
        };
        var r = LlamaAotProcess.Run("convert", ConvertFixture.Stories260KBin, output, "--vocab", vocab);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: cannot write {output}: it is {vocab}, which this command reads (the same file); write the output elsewhere", r.Stderr.Trim());
        Assert.Equal(File.ReadAllBytes(ConvertFixture.Tok512), File.ReadAllBytes(vocab));
    }

    [Fact]
    public void QuantizeRefusesToOverwriteItsInputThroughAHardLink()
    {
        string input = _dir.File("in.gguf");
        File.Copy(F32, input);
        string output = HardLink(input, _dir.File("out.gguf"));
        var r = LlamaAotProcess.Run("quantize", input, output, "Q8_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"error: cannot write {output}: it is {input}, which this command reads (the same file); write the output elsewhere", r.Stderr.Trim());
        Assert.Equal(File.ReadAllBytes(F32), File.ReadAllBytes(input));
    }

    [RootTheory]
    [InlineData("quantize")]
    [InlineData("convert")]
    [InlineData("logits")]
    public void AFullDiskLeavesTheLinkedTargetAsItWas(string command)
    {
        // A 16 KiB file system: the output (250 KB to 1 MB) cannot fit. The output path is a link into it.
        string disk = _dir.File("disk");
        Directory.CreateDirectory(disk);
        Exec("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", disk);
        try
        {
            string target = Path.Combine(disk, "model.gguf");
            File.WriteAllText(target, "old");
            string link = File.CreateSymbolicLink(_dir.File("link.gguf"), target).FullName;
            var r = LlamaAotProcess.Run(Writing(command, link));
            Assert.Equal(1, r.ExitCode);
            Assert.Equal($"error: cannot write {link}: no space left on the device", r.Stderr.Trim());
            Assert.Equal("old", File.ReadAllText(target));
            Assert.Equal(target, new FileInfo(link).LinkTarget);
            Assert.Equal(["model.gguf"], Directory.GetFileSystemEntries(disk).Select(Path.GetFileName));
        }
        finally
        {
            Exec("umount", disk);
        }
    }

    public static TheoryData<string, int, bool> Interruptions()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (string command in new[] { "quantize", "convert" })
        {
            foreach (int signal in new[] { SigInt, SigTerm })
            {
                data.Add(command, signal, false);
                data.Add(command, signal, true);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Interruptions))]
    public void ASignalMidWriteLeavesTheOutputAsItWas(string command, int signal, bool outputExists)
    {
        string output = _dir.File("out.gguf");
        if (outputExists)
            File.WriteAllText(output, "old");
        string[] args = command == "quantize"
            ? ["quantize", SparseGguf(_dir.File("big.gguf")), output, "Q4_0", "-t", "1"]
            : ["convert", SparseLlama2c(_dir.File("big.bin")), output, "--vocab", ConvertFixture.Tok512];
        using var process = LlamaAotProcess.Start(args);
        var clock = Stopwatch.StartNew();
        // Writing has begun when the output or a temporary file beside it holds bytes (the first 1 MiB buffer).
        while (!Entries().Any(n => n != "out.gguf" && n.StartsWith(".out.gguf", StringComparison.Ordinal) && new FileInfo(_dir.File(n)).Length > 0
                                   || n == "out.gguf" && new FileInfo(output).Length > 3))
        {
            if (process.HasExited)
                Assert.Fail($"llama-aot {command} exited ({process.ExitCode}) before it wrote: {process.StandardError.ReadToEnd()}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "no output after 30 s");
            Thread.Sleep(2);
        }
        Assert.Equal(0, Signals.Kill(process.Id, signal));
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "llama-aot did not stop on the signal");
        string stderr = process.StandardError.ReadToEnd();

        Assert.Equal(128 + signal, process.ExitCode);
        Assert.EndsWith($"error: interrupted; {output} was not written", stderr.Trim());
        Assert.Equal(outputExists ? "old" : null, File.Exists(output) ? File.ReadAllText(output) : null);
        Assert.DoesNotContain(Entries(), n => n.StartsWith(".out.gguf", StringComparison.Ordinal));
    }

    private const int SigInt = 2, SigTerm = 15;

    private IEnumerable<string> Entries() => Directory.GetFileSystemEntries(_dir.Path).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal);

    /// <summary>A GGUF of four 256 MiB F32 matrices of zeros, stored sparsely: 1 GiB to quantize, no disk used.</summary>
    private static string SparseGguf(string path)
    {
        const long k = 4096, rows = 16384;
        var b = new GgufBytes().Header(tensorCount: 4, kvCount: 1).KvString("general.architecture", "llama");
        for (int i = 0; i < 4; i++)
            b.TensorInfo($"blk.{i}.ffn_up.weight", [k, rows], GgmlType.F32, (ulong)(i * k * rows * 4));
        byte[] header = b.Pad(32).ToArray();
        File.WriteAllBytes(path, header);
        using var f = new FileStream(path, FileMode.Open);
        f.SetLength(header.Length + 4 * k * rows * 4);
        return path;
    }

    /// <summary>A llama2.c checkpoint (dim 4096, one layer, tok512's 512 tokens) of zeros, stored sparsely: 0.6 GB.</summary>
    private static string SparseLlama2c(string path)
    {
        int[] config = [4096, 11008, 1, 32, 32, 512, 256]; // dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
        long dim = 4096, ff = 11008, floats = 512 * dim + 2 * dim + 4 * dim * dim + 3 * dim * ff + dim + 256 * 128;
        byte[] header = new byte[7 * 4];
        for (int i = 0; i < 7; i++)
            BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(i * 4), config[i]);
        File.WriteAllBytes(path, header);
        using var f = new FileStream(path, FileMode.Open);
        f.SetLength(header.Length + floats * 4);
        return path;
    }

    private static string Make(string tool, string path, string kind, params string[] extra)
    {
        Exec(tool, [path, .. extra]);
        return kind;
    }

    private static string MakeDirectory(string path)
    {
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "keep"), "x");
        return "a directory";
    }

    private static string HardLink(string existing, string link)
    {
        Exec("ln", existing, link);
        return link;
    }

    /// <summary>What `stat -c %F` says, in the words of the error message.</summary>
    private static string Kind(string path)
    {
        var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%F", path]) { RedirectStandardOutput = true })!;
        string type = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return type switch
        {
            "fifo" => "a FIFO (named pipe)",
            "character special file" => "a character device",
            "directory" => "a directory",
            _ => type,
        };
    }

    private static void Exec(string tool, params string[] args)
    {
        var p = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardError = true })!;
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{tool} {string.Join(' ', args)}: {error}");
    }

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>A theory that needs root (to mount a small tmpfs); skipped, with the reason, for other users.</summary>
    public sealed class RootTheoryAttribute : TheoryAttribute
    {
        public RootTheoryAttribute()
        {
            if (!IsRoot || !OperatingSystem.IsLinux())
                Skip = "needs root on Linux to mount a 16 KiB tmpfs (a full disk); CI runs as root";
        }
    }
}

internal static partial class Signals
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    public static partial int Kill(int pid, int signal);
}
