using LlamaAot.Files;
using LlamaAot.Tests.Gguf;

namespace LlamaAot.Tests.Files;

/// <summary>The output file that appears whole or not at all (the command-line behaviour is in OutputFileCliTests).</summary>
public sealed class AtomicOutputFileTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string[] Entries() => Directory.GetFileSystemEntries(_dir.Path).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void BytesGoToATemporaryFileBesideTheTargetUntilCommit()
    {
        string target = _dir.File("out.bin");
        File.WriteAllText(target, "old");
        using (var file = AtomicOutputFile.Create(target))
        {
            Assert.Equal(_dir.File($".out.bin.tmp-{Environment.ProcessId}"), file.TemporaryPath);
            file.Write("new"u8);
            file.Flush();
            Assert.Equal(3, new FileInfo(file.TemporaryPath).Length);
            Assert.Equal("old", File.ReadAllText(target));
            file.Commit();
        }
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(["out.bin"], Entries());
    }

    [Fact]
    public void WithoutCommitTheTargetStaysAsItWas()
    {
        string target = _dir.File("out.bin"), absent = _dir.File("absent.bin");
        File.WriteAllText(target, "old");
        using (var file = AtomicOutputFile.Create(target))
            file.Write("partial"u8);
        using (var file = AtomicOutputFile.Create(absent))
            file.Write("partial"u8);
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Equal(["out.bin"], Entries());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void ALinkKeepsPointingAtItsReplacedTargetWhichKeepsItsPermissions()
    {
        // link -> middle -> data/model.gguf, relative links as `ln -s` makes them.
        Directory.CreateDirectory(_dir.File("data"));
        string target = _dir.File("data/model.gguf");
        File.WriteAllText(target, "old");
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.CreateSymbolicLink(_dir.File("middle"), "data/model.gguf");
        string link = File.CreateSymbolicLink(_dir.File("link"), "middle").FullName;

        using (var file = AtomicOutputFile.Create(link))
        {
            Assert.Equal(target, file.TargetPath);
            file.Write("new"u8);
            file.Commit();
        }
        Assert.Equal("middle", new FileInfo(link).LinkTarget);
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(target));
        Assert.Equal(["model.gguf"], Directory.GetFileSystemEntries(_dir.File("data")).Select(Path.GetFileName));
    }
}
