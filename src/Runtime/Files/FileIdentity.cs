using System.Runtime.InteropServices;

namespace LlamaAot.Files;

/// <summary>
/// What a path names once every symbolic link is followed: its kind and its identity (device and inode), which .NET
/// does not expose. Two paths name the same file exactly when their identities are equal, whatever links,
/// <c>..</c> or hard links lie between them. Read with Linux's <c>statx</c>, whose buffer has one layout on every
/// architecture.
/// </summary>
internal readonly partial record struct FileIdentity(uint Mode, uint DeviceMajor, uint DeviceMinor, ulong Inode)
{
    private const uint TypeMask = 0xF000; // S_IFMT

    /// <summary>Null for a regular file; otherwise what it is, for a message ("a directory").</summary>
    public string? Kind => (Mode & TypeMask) switch
    {
        0x8000 => null,
        0x4000 => "a directory",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0x1000 => "a FIFO (named pipe)",
        0xC000 => "a socket",
        _ => "not a regular file",
    };

    public bool IsSameFile(FileIdentity other) =>
        Inode == other.Inode && DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor;

    /// <summary>The identity of what <paramref name="path"/> names, or null if nothing is there (or it cannot be read).</summary>
    public static FileIdentity? Of(string path)
    {
        if (!OperatingSystem.IsLinux())
            return Directory.Exists(path) ? new FileIdentity(0x4000, 0, 0, 0) : null;
        if (Native.Statx(Native.AtCurrentDirectory, path, 0, Native.StatxTypeAndInode, out var s) != 0)
            return null;
        return new FileIdentity(s.Mode, s.DeviceMajor, s.DeviceMinor, s.Inode);
    }

    /// <summary>
    /// fsync of a directory: makes a rename inside it durable. Best effort: some file systems refuse to sync a
    /// directory, and the file's own bytes were already synced.
    /// </summary>
    public static void FlushDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
            return;
        int fd = Native.Open(directory.Length == 0 ? "." : directory, Native.ReadOnlyDirectory);
        if (fd < 0)
            return;
        _ = Native.Fsync(fd);
        _ = Native.Close(fd);
    }

    private static partial class Native
    {
        public const int AtCurrentDirectory = -100;           // AT_FDCWD
        public const uint StatxTypeAndInode = 0x1 | 0x100;    // STATX_TYPE | STATX_INO
        public const int ReadOnlyDirectory = 0x10000 | 0x80000; // O_RDONLY | O_DIRECTORY | O_CLOEXEC

        /// <summary>The fields of <c>struct statx</c> (linux/stat.h, 256 bytes) that are read.</summary>
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        public struct StatxBuffer
        {
            [FieldOffset(28)] public ushort Mode;
            [FieldOffset(32)] public ulong Inode;
            [FieldOffset(136)] public uint DeviceMajor;
            [FieldOffset(140)] public uint DeviceMinor;
        }

        [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Statx(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);

        [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync")]
        public static partial int Fsync(int fd);

        [LibraryImport("libc", EntryPoint = "close")]
        public static partial int Close(int fd);
    }
}
