using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AgentCore;

/// <summary>
/// <c>flock</c> on a file kept open (Unix): the same advisory lock .NET takes when it opens a file with
/// <see cref="FileShare.None"/>, so processes that lock by opening and processes that lock a kept-open file exclude each
/// other, but taken and released without opening and closing the file each time.
/// </summary>
internal static partial class UnixFileLock
{
    private const int LockExclusive = 2;
    private const int NonBlocking = 4;
    private const int Unlocked = 8;

    /// <summary>
    /// Whether <c>flock</c> can be called here: on Unix, unless .NET's file locking is turned off
    /// (<c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>, under which opening with <see cref="FileShare.None"/> locks nothing either).
    /// </summary>
    public static bool IsAvailable { get; } = Probe();

    /// <summary>
    /// Takes the exclusive lock of <paramref name="file"/> without waiting: false when another open file holds it. Where
    /// the file system cannot lock (<c>flock</c> fails with ENOTSUP/EOPNOTSUPP, ENOSYS, or EACCES as on some network file
    /// systems), true without a lock, as .NET's own exclusive open does; any other failure throws.
    /// </summary>
    /// <param name="file">The open lock file.</param>
    /// <param name="path">The lock file's path, for the error.</param>
    /// <returns>True when the lock is held (or cannot be taken on this file system); false when another holder has it.</returns>
    /// <exception cref="IOException"><c>flock</c> failed for another reason (ENOLCK, EBADF, ...): the message names the path and the errno.</exception>
    public static bool TryLockExclusive(SafeFileHandle file, string path)
    {
        while (true)
        {
            if (Call(file, LockExclusive | NonBlocking) == 0)
            {
                return true;
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno == Interrupted)
            {
                continue;
            }

            if (errno == WouldBlock)
            {
                return false;
            }

            if (CannotLockHere(errno))
            {
                return true;
            }

            throw new IOException($"Could not lock the file '{path}': flock failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}).")
            {
                HResult = errno,
            };
        }
    }

    /// <summary>Releases the lock of <paramref name="file"/>; false when that failed (the caller closes the file, which releases it).</summary>
    public static bool Unlock(SafeFileHandle file)
    {
        while (Call(file, Unlocked) != 0)
        {
            if (Marshal.GetLastPInvokeError() != Interrupted)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="path"/> still names the open <paramref name="file"/> (same device and inode): false when the
    /// path is gone or names another file (the file was deleted, or its folder deleted and made again). Where this cannot
    /// be told (outside 64-bit Linux, or a C library without <c>stat</c>), or the path cannot be examined for another
    /// reason, true.
    /// </summary>
    /// <param name="file">The open file.</param>
    /// <param name="path">The path it was opened by.</param>
    /// <returns>False only when the path is known not to name <paramref name="file"/>.</returns>
    public static bool IsFileAtPath(SafeFileHandle file, string path) => IsFileAtPathOr(file, path, whenUnknown: true);

    /// <summary>Whether <see cref="IsSameFileAtPath"/> can tell (64-bit Linux with a C library that exports <c>stat</c>).</summary>
    public static bool CanCheckPath => s_canStat;

    /// <summary>
    /// Whether <paramref name="path"/> names the file <paramref name="file"/> is open on (same device and inode); false
    /// when it names another file or none, or when that cannot be told.
    /// </summary>
    /// <param name="file">The open file.</param>
    /// <param name="path">The path.</param>
    /// <returns>True only when the path is known to name the open file.</returns>
    public static bool IsSameFileAtPath(SafeFileHandle file, string path) => IsFileAtPathOr(file, path, whenUnknown: false);

    private static bool IsFileAtPathOr(SafeFileHandle file, string path, bool whenUnknown)
    {
        if (!s_canStat)
        {
            return whenUnknown;
        }

        try
        {
            bool added = false;
            int result;
            StatBuffer open;
            try
            {
                file.DangerousAddRef(ref added);
                result = FStat((int)file.DangerousGetHandle(), out open);
            }
            finally
            {
                if (added)
                {
                    file.DangerousRelease();
                }
            }

            if (result != 0)
            {
                return whenUnknown;
            }

            if (Stat(path, out var named) != 0)
            {
                return whenUnknown && Marshal.GetLastPInvokeError() != NoSuchFile;
            }

            return open.Device == named.Device && open.Inode == named.Inode;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            s_canStat = false; // a C library older than glibc 2.33 exports no stat: leave the check out
            return whenUnknown;
        }
    }

    private const int NoSuchFile = 2; // ENOENT

    // On 64-bit Linux (x64, arm64 and the other architectures with the generic layout) struct stat starts with st_dev and
    // st_ino, both 64-bit; elsewhere the layout differs, and the check is left out.
    private static bool s_canStat = OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    // EWOULDBLOCK (EAGAIN): 11 on Linux, 35 on macOS and the BSDs; EINTR is 4 on all of them.
    internal static int WouldBlock => OperatingSystem.IsLinux() ? 11 : 35;

    private const int Interrupted = 4;

    // The errors that say this file system (or file) does not support flock, which .NET's exclusive open also passes over:
    // EACCES (13 everywhere); ENOTSUP/EOPNOTSUPP (95 on Linux; 45 and 102 on macOS; 45 on FreeBSD); ENOSYS (38 on Linux, 78 on macOS and FreeBSD).
    private static bool CannotLockHere(int errno) => errno == 13 || (OperatingSystem.IsLinux()
        ? errno is 95 or 38
        : errno is 45 or 102 or 78);

    private static int Call(SafeFileHandle file, int operation)
    {
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            return Flock((int)file.DangerousGetHandle(), operation);
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    private static bool Probe()
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()))
        {
            return false;
        }

        if (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out bool disabled) && disabled)
        {
            return false;
        }

        string? variable = Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING");
        if (variable is not null && (variable == "1" || variable.Equals("true", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        try
        {
            // An invalid descriptor: fails with EBADF, proving the function is there.
            return Flock(-1, Unlocked) == -1;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "fstat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int FStat(int fd, out StatBuffer buffer);

    [DllImport("libc", EntryPoint = "stat", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Stat(string path, out StatBuffer buffer);

    /// <summary>Room for a <c>struct stat</c> (144 bytes on x64, 128 on arm64), of which the first two fields are read.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct StatBuffer
    {
        public ulong Device;
        public ulong Inode;
    }

    [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Flock(int fd, int operation);
}
