using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LlamaAot.Cli;

/// <summary>
/// The standard streams, made safe to write. Standard error carries only diagnostics: when it is closed or full
/// (<c>2&gt;&amp;-</c>, <c>2&gt;/dev/full</c>) the run goes on without them and keeps its exit code. Standard output
/// carries the result: when it cannot be written the run fails with one readable line on standard error
/// (<see cref="StandardOutputException"/>), not .NET's "access denied".
/// </summary>
internal static class StandardStreams
{
    // Standard descriptors found closed at start, now held open on /dev/null (see Install).
    private static readonly List<SafeFileHandle> s_placeholders = [];
    private static bool s_outputClosed;

    /// <summary>Replaces <see cref="Console.Error"/> and <see cref="Console.Out"/>; call first thing in Main.</summary>
    public static void Install()
    {
        // A closed descriptor 0, 1 or 2 is the lowest free one: the next file opened would take it, and output meant
        // for the terminal would go into that file (or standard output into a duplicate of standard error). Hold each
        // one on /dev/null, and remember that standard output was closed.
        var closed = new List<int>();
        while (!OperatingSystem.IsWindows())
        {
            var handle = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            int fd = (int)handle.DangerousGetHandle();
            if (fd > 2)
            {
                handle.Dispose();
                break;
            }
            s_placeholders.Add(handle);
            closed.Add(fd);
        }
        s_outputClosed = closed.Contains(1);

        TextWriter error;
        try
        {
            error = closed.Contains(2) ? TextWriter.Null : Console.Error;
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            error = TextWriter.Null;
        }
        Console.SetError(new DiagnosticWriter(error));
        Console.SetOut(new StreamWriter(OpenOutput(), new UTF8Encoding(false)) { AutoFlush = true });
    }

    /// <summary>Standard output as a stream whose failures are <see cref="StandardOutputException"/>s.</summary>
    public static Stream OpenOutput()
    {
        if (s_outputClosed)
            return new OutputStream(null, new UnauthorizedAccessException("standard output is closed"));
        try
        {
            return new OutputStream(Console.OpenStandardOutput(), null);
        }
        catch (Exception e) when (IsWriteFailure(e))
        {
            return new OutputStream(null, e);
        }
    }

    private static bool IsWriteFailure(Exception e) => e is IOException or UnauthorizedAccessException;

    /// <summary>Writes through to standard error until a write fails, then drops everything.</summary>
    private sealed class DiagnosticWriter(TextWriter inner) : TextWriter
    {
        private volatile bool _failed;

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value) => Try(() => inner.Write(value));

        public override void Write(string? value) => Try(() => inner.Write(value));

        public override void Write(char[] buffer, int index, int count) => Try(() => inner.Write(buffer, index, count));

        public override void WriteLine(string? value) => Try(() => inner.WriteLine(value));

        public override void Flush() => Try(inner.Flush);

        private void Try(Action write)
        {
            if (_failed)
                return;
            try
            {
                write();
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                _failed = true;
            }
        }
    }

    /// <summary>Standard output, its write failures turned into <see cref="StandardOutputException"/>.</summary>
    private sealed class OutputStream(Stream? inner, Exception? openFailure) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            try
            {
                (inner ?? throw openFailure!).Write(buffer);
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                throw new StandardOutputException(e);
            }
        }

        public override void Flush()
        {
            try
            {
                inner?.Flush();
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                throw new StandardOutputException(e);
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                inner?.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// Standard output could not be written: closed (.NET reports EBADF as access denied), full, or a device error.
/// </summary>
internal sealed class StandardOutputException(Exception inner) : IOException(
    inner is UnauthorizedAccessException
        ? "cannot write to standard output: it is closed or not open for writing"
        : $"cannot write to standard output: {inner.Message}",
    inner);
