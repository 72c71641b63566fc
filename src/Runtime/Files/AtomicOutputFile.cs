using System.Diagnostics;
using LlamaAot.Diagnostics;

namespace LlamaAot.Files;

/// <summary>
/// An output file that appears whole or not at all. The bytes go to a temporary file beside the target
/// (<c>.NAME.tmp-PID</c>); <see cref="Commit"/> flushes it to the disk, renames it over the target and flushes the
/// directory, so an error, a full disk, a signal or a crash never leaves a partial file at the target's path. Disposing
/// without committing deletes the temporary file and leaves the target as it was. Only SIGKILL (or a crash of the
/// process itself) can leave the temporary file behind, never a partial target.
/// <para>
/// Checked before anything is written: an existing target that is not a regular file (a device, FIFO, socket or
/// directory) is refused, never replaced or deleted; a symbolic link is followed and its final target is what gets
/// replaced (the link stays); a target that is one of the command's inputs (the same file by device and inode,
/// whatever the path: symbolic links, <c>..</c>, hard links) is refused.
/// </para>
/// </summary>
public sealed class AtomicOutputFile : Stream
{
    // Every file not yet committed or abandoned, so a signal handler can delete them (AbandonAll). Commit's rename and
    // the handler's deletions take the same lock: a target is either renamed into place whole, or never.
    private static readonly Lock Gate = new();
    private static readonly HashSet<AtomicOutputFile> Unfinished = [];
    private static bool s_abandoned;

    private readonly FileStream _file;
    private bool _finished;

    private AtomicOutputFile(string path, string targetPath, string temporaryPath, FileStream file)
    {
        Path = path;
        TargetPath = targetPath;
        TemporaryPath = temporaryPath;
        _file = file;
    }

    /// <summary>The path as given.</summary>
    public string Path { get; }

    /// <summary>The file that <see cref="Commit"/> replaces: <see cref="Path"/>, or the final target of the symbolic link there.</summary>
    public string TargetPath { get; }

    /// <summary>Where the bytes are written until <see cref="Commit"/>.</summary>
    public string TemporaryPath { get; }

    /// <summary>Checks the target and opens the temporary file beside it.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="inputs">Files the command reads: the target must not be one of them.</param>
    /// <exception cref="OutputFileException">The target cannot be written; the message says why.</exception>
    public static AtomicOutputFile Create(string path, params IEnumerable<string> inputs)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(inputs);
        string target = FinalTarget(path);
        var existing = FileIdentity.Of(target);
        if (existing is { } found)
        {
            if (found.Kind is not null)
                throw new OutputFileException($"cannot write {Excerpt.Path(path)}: it is {found.Kind}, not a regular file; name a file to write");
            foreach (string input in inputs)
            {
                if (FileIdentity.Of(input) is { } i && i.IsSameFile(found))
                    throw new OutputFileException($"cannot write {Excerpt.Path(path)}: it is {Excerpt.Path(input)}, which this command reads (the same file); write the output elsewhere");
            }
        }

        string directory = System.IO.Path.GetDirectoryName(target) ?? "";
        string temporary = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(target)}.tmp-{Environment.ProcessId}");
        lock (Gate)
        {
            if (!s_abandoned)
            {
                var file = OpenNew(path, temporary, directory);
                try
                {
                    if (existing is not null)
                        KeepMode(file, target);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    file.Dispose();
                    File.Delete(temporary);
                    throw new OutputFileException($"cannot write {Excerpt.Path(path)}: {Describe(e)}");
                }
                var output = new AtomicOutputFile(path, target, temporary, file);
                Unfinished.Add(output);
                return output;
            }
        }
        throw WaitForExit();
    }

    /// <summary>
    /// Flushes the bytes to the disk and renames the temporary file over the target, then flushes the directory so
    /// the rename itself survives a power cut.
    /// </summary>
    /// <exception cref="OutputFileException">The bytes could not be written; the target is as it was.</exception>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        Guard(() => _file.Flush(flushToDisk: true));
        _file.Dispose();
        lock (Gate)
        {
            if (!s_abandoned)
            {
                Guard(() => File.Move(TemporaryPath, TargetPath, overwrite: true)); // rename(2): atomic in one directory
                _finished = true;
                Unfinished.Remove(this);
            }
        }
        if (!_finished)
            throw WaitForExit();
        FileIdentity.FlushDirectory(System.IO.Path.GetDirectoryName(TargetPath) ?? "");
    }

    /// <summary>
    /// For a process about to exit on a signal: deletes the temporary file of every output not yet committed. From
    /// then on, a thread that calls <see cref="Create"/> or <see cref="Commit"/> waits for the exit, so nothing more is
    /// written and no competing error is reported. Returns the paths that were not written.
    /// </summary>
    public static IReadOnlyList<string> AbandonAll()
    {
        lock (Gate)
        {
            s_abandoned = true;
            var paths = Unfinished.Select(f => f.Path).ToList();
            foreach (var f in Unfinished)
                DeleteQuietly(f.TemporaryPath);
            Unfinished.Clear();
            return paths;
        }
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_finished;
    public override long Length => _file.Length;

    public override long Position
    {
        get => _file.Position;
        set => throw new NotSupportedException();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            _file.Write(buffer);
        }
        catch (Exception e) when (e is (IOException or UnauthorizedAccessException) and not OutputFileException)
        {
            throw new OutputFileException($"cannot write {Excerpt.Path(Path)}: {Describe(e)}");
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() => Guard(_file.Flush);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Without <see cref="Commit"/>: deletes the temporary file; the target is untouched.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_finished)
        {
            _finished = true;
            try
            {
                _file.Dispose(); // flushes what is buffered, which can fail (a full disk): the file is deleted anyway
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            lock (Gate)
            {
                if (Unfinished.Remove(this))
                    DeleteQuietly(TemporaryPath);
            }
        }
        base.Dispose(disposing);
    }

    /// <summary>After <see cref="AbandonAll"/>: the process is exiting; this thread must neither write nor report.</summary>
    private static UnreachableException WaitForExit()
    {
        Thread.Sleep(Timeout.Infinite);
        return new UnreachableException();
    }

    /// <summary>The final target of a chain of symbolic links at <paramref name="path"/>, else the path itself.</summary>
    private static string FinalTarget(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.LinkTarget is null ? path : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
        }
        catch (IOException e)
        {
            throw new OutputFileException($"cannot write {Excerpt.Path(path)}: {Describe(e)}"); // a loop of links
        }
    }

    /// <summary>A replaced file keeps its permissions.</summary>
    private static void KeepMode(FileStream file, string target)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(file.SafeFileHandle, File.GetUnixFileMode(target));
    }

    private static FileStream OpenNew(string path, string temporary, string directory)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                // CreateNew: never follows a link planted at the temporary name.
                return new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            }
            catch (IOException) when (attempt == 0 && File.Exists(temporary))
            {
                File.Delete(temporary); // left by a killed process that had the same id
            }
            catch (DirectoryNotFoundException)
            {
                throw new OutputFileException($"cannot write {Excerpt.Path(path)}: the directory {(directory.Length == 0 ? "." : Excerpt.Path(directory))} does not exist");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new OutputFileException($"cannot write {Excerpt.Path(path)}: {Describe(e)}");
            }
        }
    }

    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is (IOException or UnauthorizedAccessException) and not OutputFileException)
        {
            throw new OutputFileException($"cannot write {Excerpt.Path(Path)}: {Describe(e)}");
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The cause of a failed write in plain words (the error number of an <see cref="IOException"/> is its HResult on Unix).</summary>
    private static string Describe(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        PathTooLongException => "the name is too long", // its message repeats the path whole
        IOException { HResult: 28 } => "no space left on the device",
        IOException { HResult: 122 } => "the disk quota is exceeded",
        IOException { HResult: 30 } => "the file system is read-only",
        IOException { HResult: 40 } => "too many levels of symbolic links",
        _ => e.Message,
    };
}
