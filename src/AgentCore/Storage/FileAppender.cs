using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>
/// Appends whole records to files shared by threads and processes, and replaces files atomically.
/// </summary>
/// <remarks>
/// .NET's <see cref="FileMode.Append"/> is not an atomic append (it writes at the end it saw when it opened),
/// so every writer first takes the file's lock: a per-path semaphore within the process and an exclusive
/// lock on a sibling <c>.lock</c> file across processes (<c>flock</c> on Unix, a share mode on Windows).
/// On Unix the lock file stays open between locks (up to <see cref="MaxOpenLockFiles"/> of them, the least recently used
/// closed first), and each lock is a <c>flock</c> and an unlock on it: no open and close of the lock file per record.
/// After each <c>flock</c> the lock file's path is checked to still name the file kept open (a data folder deleted and
/// made again while the process runs would otherwise leave it locking a file nobody else opens); when it does not, the
/// lock file is opened again. On 64-bit Linux the file appended to is kept open with its lock file too, checked the same
/// way after each lock (see <see cref="OpenTarget"/>).
/// Readers take no lock: records end with a newline, and a reader treats an unterminated tail as not yet written.
/// </remarks>
internal static class FileAppender
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How many lock files are kept open at most (Unix); more are closed, least recently used first, when idle.</summary>
    internal const int MaxOpenLockFiles = 256;

    // Process-wide, so two stores on one directory in one process never contend on the file lock. On Unix an entry stays
    // while its lock file is open, and is dropped when an idle lock file is closed, so this holds about MaxOpenLockFiles.
    private static readonly ConcurrentDictionary<string, PathLock> Locks = new(StringComparer.Ordinal);

    // The PathLocks whose lock file is open, least recently used first (Unix); guarded by itself.
    private static readonly LinkedList<PathLock> OpenLockFiles = new();

    // The retry below waits out another process's disk write: real time, not the app's clock.
    private static TimeProvider Time => TimeProvider.System;

    /// <summary>Appends <paramref name="record"/> (which must end with a newline) to <paramref name="path"/> in one write.</summary>
    /// <param name="path">The file.</param>
    /// <param name="record">The record, ending with a newline.</param>
    /// <param name="what">What the file is, for the error when the write fails (<c>message journal</c>).</param>
    /// <param name="cancellationToken">Cancels the wait for the lock and the write.</param>
    /// <exception cref="IOException">The file cannot be written (read-only or full disk, ...): the message names the path; the file is left as it was.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder may not be written: the message names the path.</exception>
    public static async ValueTask AppendAsync(string path, ReadOnlyMemory<byte> record, string what, CancellationToken cancellationToken)
    {
        var held = await LockCoreAsync(path, cancellationToken).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            var (handle, owned) = OpenTarget(held.PathLock, path, what);
            try
            {
                AppendTo(handle, path, record, what);
            }
            finally
            {
                if (owned)
                {
                    handle.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// Appends the record <paramref name="choose"/> picks, given the file's length when the lock is held, to
    /// <paramref name="path"/> in one write; returns that length (where the record starts, unless a torn record had to be
    /// ended first) and the length after the record.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="choose">
    /// Picks the record (ending with a newline) from the file's length under the lock, and says whether the file is known
    /// to end with a newline at that length (the caller's own record ends there), which saves reading its last byte.
    /// </param>
    /// <param name="what">What the file is, for the error when the write fails (<c>message journal</c>).</param>
    /// <param name="cancellationToken">Cancels the wait for the lock and the write.</param>
    /// <exception cref="IOException">The file cannot be written: the message names the path; the file is left as it was.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder may not be written: the message names the path.</exception>
    public static ValueTask<(long Before, long After)> AppendAsync(
        string path, Func<long, (ReadOnlyMemory<byte> Record, bool EndsWithNewline)> choose, string what, CancellationToken cancellationToken) =>
        AppendAsync(path, path, choose, what, cancellationToken);

    /// <summary>
    /// Appends the record <paramref name="choose"/> picks to <paramref name="path"/>, as the overload without
    /// <paramref name="lockPath"/> does, under the lock of <paramref name="lockPath"/> (what <see cref="LockAsync"/> takes
    /// for it) instead of the file's own: for files that share one lock.
    /// </summary>
    /// <param name="lockPath">The path whose lock guards the file.</param>
    /// <param name="path">The file.</param>
    /// <param name="choose">Picks the record from the file's length under the lock (see the other overload).</param>
    /// <param name="what">What the file is, for the error when the write fails (<c>message journal</c>).</param>
    /// <param name="cancellationToken">Cancels the wait for the lock and the write.</param>
    /// <returns>The file's length before the record and after it.</returns>
    /// <exception cref="IOException">The file cannot be written: the message names the path; the file is left as it was.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder may not be written: the message names the path.</exception>
    public static async ValueTask<(long Before, long After)> AppendAsync(
        string lockPath, string path, Func<long, (ReadOnlyMemory<byte> Record, bool EndsWithNewline)> choose, string what, CancellationToken cancellationToken)
    {
        var held = await LockCoreAsync(lockPath, cancellationToken).ConfigureAwait(false);
        await using (held.ConfigureAwait(false))
        {
            var (handle, owned) = OpenTarget(held.PathLock, path, what);
            try
            {
                long before = RandomAccess.GetLength(handle);
                var (record, endsWithNewline) = choose(before);
                return (before, AppendTo(handle, path, record, what, endsWithNewline, before));
            }
            finally
            {
                if (owned)
                {
                    handle.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// The file <paramref name="path"/> open to append to, under its lock (the caller holds <paramref name="pathLock"/>):
    /// on Unix kept open with the lock file between appends, and checked to still be the file the path names (another
    /// writer may have replaced it by a rewrite, or deleted it) — no open and close per record; elsewhere opened for the
    /// caller to close (<c>Owned</c>).
    /// </summary>
    private static (Microsoft.Win32.SafeHandles.SafeFileHandle Handle, bool Owned) OpenTarget(PathLock pathLock, string path, string what)
    {
        if (pathLock.File is null || !UnixFileLock.CanCheckPath)
        {
            return (OpenForAppend(path, what), true);
        }

        if (pathLock.Target is { } kept)
        {
            if (UnixFileLock.IsSameFileAtPath(kept, path))
            {
                return (kept, false);
            }

            pathLock.Target = null;
            kept.Dispose();
        }

        var opened = OpenForAppend(path, what);
        pathLock.Target = opened;
        return (opened, false);
    }

    /// <summary>
    /// Closes the file kept open to append to under the lock of <paramref name="lockPath"/> (see <see cref="OpenTarget"/>),
    /// if any: called by the holder of that lock after deleting the file, so its disk space is freed now rather than when
    /// the lock file is closed. The lock file itself stays open.
    /// </summary>
    /// <param name="lockPath">The path whose lock the caller holds (as passed to <see cref="LockAsync"/>).</param>
    public static void CloseKept(string lockPath)
    {
        string key = Path.IsPathFullyQualified(lockPath) ? lockPath : Path.GetFullPath(lockPath);
        if (Locks.TryGetValue(key, out var pathLock) && pathLock.Target is { } kept)
        {
            pathLock.Target = null;
            kept.Dispose();
        }
    }

    /// <summary>Appends to a file whose lock the caller holds.</summary>
    /// <remarks>
    /// When the file does not end with a newline (a writer died mid-record), the record is written after a newline,
    /// so the torn record becomes a corrupt line of its own instead of swallowing this one.
    /// </remarks>
    /// <exception cref="IOException">The file cannot be written: the message names the path; a partial write is undone.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written: the message names the path.</exception>
    public static ValueTask AppendLockedAsync(string path, ReadOnlyMemory<byte> record, string what, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using (var handle = OpenForAppend(path, what))
        {
            AppendTo(handle, path, record, what);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Appends <paramref name="record"/> to <paramref name="path"/>, whose lock the caller holds, when the file exists and
    /// stays within <paramref name="maxLength"/> bytes with it; false (nothing written) otherwise.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="record">The record, ending with a newline.</param>
    /// <param name="maxLength">The longest the file may become by this append.</param>
    /// <param name="what">What the file is, for the error when the write fails.</param>
    /// <returns>Whether the record was appended.</returns>
    /// <exception cref="IOException">The file cannot be written: the message names the path; a partial write is undone.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written: the message names the path.</exception>
    public static bool TryAppendExisting(string path, ReadOnlyMemory<byte> record, long maxLength, string what)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(path, what, ex);
        }

        using (handle)
        {
            // One more byte for the newline that ends a torn record first.
            if (RandomAccess.GetLength(handle) + record.Length + 1 > maxLength)
            {
                return false;
            }

            AppendTo(handle, path, record, what);
            return true;
        }
    }

    /// <summary>Opens (or creates) <paramref name="path"/> to append to it, shared with other readers and writers.</summary>
    /// <exception cref="IOException">The file cannot be opened: the message names the path.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder may not be written: the message names the path.</exception>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenForAppend(string path, string what)
    {
        try
        {
            try
            {
                return File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            }
            catch (IOException missing) when (missing is DirectoryNotFoundException or FileNotFoundException)
            {
                // Its folder is missing (its lock file may live in another one): only the first write to it gets here.
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                return File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw WriteFailed(path, what, ex);
        }
    }

    /// <summary>Appends <paramref name="record"/> at the end of the file; returns the file's length after it.</summary>
    /// <remarks>
    /// Synchronous on purpose: a record is a few hundred bytes into the page cache, and .NET's asynchronous file I/O on Unix
    /// runs the same synchronous call on another thread-pool thread, adding a hop per record without freeing a thread.
    /// </remarks>
    private static long AppendTo(
        Microsoft.Win32.SafeHandles.SafeFileHandle handle, string path, ReadOnlyMemory<byte> record, string what, bool endsWithNewline = false, long knownEnd = -1)
    {
        long end = knownEnd >= 0 ? knownEnd : RandomAccess.GetLength(handle);
        if (end > 0 && !endsWithNewline)
        {
            Span<byte> last = stackalloc byte[1];
            int read = RandomAccess.Read(handle, last, end - 1);
            if (read == 1 && last[0] != (byte)'\n')
            {
                byte[] terminated = new byte[record.Length + 1];
                terminated[0] = (byte)'\n';
                record.Span.CopyTo(terminated.AsSpan(1));
                record = terminated;
            }
        }

        try
        {
            RandomAccess.Write(handle, record.Span, end);
            return end + record.Length;
        }
        catch (IOException ex)
        {
            // A full disk can take part of the record: cut it off again, so the journal ends where it did.
            try
            {
                RandomAccess.SetLength(handle, end);
            }
            catch (IOException)
            {
                // Readers skip an unterminated tail, and the next append starts on a new line.
            }

            throw WriteFailed(path, what, ex);
        }
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    /// <exception cref="IOException">The file cannot be written (read-only or full disk, ...): the message names the path; the file is left as it was.</exception>
    /// <exception cref="UnauthorizedAccessException">The file or its folder may not be written: the message names the path.</exception>
    public static ValueTask WriteAtomicAsync(string path, ReadOnlyMemory<byte> content, string what, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            // Synchronous, as appends are (see AppendTo); the folder is created only when it is missing.
            using (var handle = CreateTemporary(temp, path))
            {
                RandomAccess.Write(handle, content.Span, 0);
            }

            File.Move(temp, path, overwrite: true);
            return ValueTask.CompletedTask;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw WriteFailed(path, what, ex);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Creates the temporary file <paramref name="temp"/> beside <paramref name="path"/>, and their folder when it is missing.</summary>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle CreateTemporary(string temp, string path)
    {
        try
        {
            return File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (DirectoryNotFoundException)
        {
            // Only the first write to a new data folder gets here.
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
    }

    /// <summary>
    /// The error for a write that failed for good (a read-only or full disk, no permission): it names the file and what it
    /// is, keeps the operating system's reason (and error code) and says that nothing stored before was changed.
    /// </summary>
    internal static Exception WriteFailed(string path, string what, Exception cause)
    {
        string message = $"AgentCore could not write the {what} '{path}': {cause.Message} Nothing stored before was changed; " +
            "free space or make the data directory writable (AgentCoreOptions.DataDirectory), then try again.";
        return cause is UnauthorizedAccessException
            ? new UnauthorizedAccessException(message, cause)
            : new IOException(message, cause) { HResult = cause.HResult };
    }

    /// <summary>
    /// Whether opening a lock file failed because another process holds its lock (worth waiting for), rather than for
    /// good (a read-only or full disk: fail at once).
    /// </summary>
    internal static bool IsHeldByAnother(IOException exception)
    {
        if (OperatingSystem.IsWindows())
        {
            int code = exception.HResult & 0xFFFF;
            return code is 32 or 33; // ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
        }

        // On Unix the HResult is the errno: flock's EWOULDBLOCK (EAGAIN: 11 on Linux, 35 on macOS and BSD).
        return exception.HResult == UnixFileLock.WouldBlock;
    }

    /// <summary>How many paths the process-wide lock table holds (for tests: on Unix it stays near <see cref="MaxOpenLockFiles"/>).</summary>
    internal static int TrackedPaths => Locks.Count;

    /// <summary>Takes the in-process and cross-process lock of <paramref name="path"/>.</summary>
    /// <remarks>
    /// The lock file lives beside the file it guards, which may not exist yet (nor its folder): the folder is created
    /// when opening the lock file finds it missing, so a write to an existing folder costs no directory call.
    /// </remarks>
    public static async ValueTask<IAsyncDisposable> LockAsync(string path, CancellationToken cancellationToken) =>
        await LockCoreAsync(path, cancellationToken).ConfigureAwait(false);

    /// <summary>Takes the lock of <paramref name="path"/> as <see cref="LockAsync"/> does, returning the lock held.</summary>
    private static async ValueTask<Held> LockCoreAsync(string path, CancellationToken cancellationToken)
    {
        // The stores pass full, normalized paths: only other paths need normalizing to find their lock.
        string key = Path.IsPathFullyQualified(path) ? path : Path.GetFullPath(path);
        PathLock pathLock;
        while (true)
        {
            pathLock = Locks.GetOrAdd(key, static k => new PathLock(k));
            await pathLock.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!pathLock.Dropped)
            {
                break;
            }

            // Its lock file was closed and it left the table while this waited: take the path's current entry.
            pathLock.Gate.Release();
        }

        try
        {
            if (UnixFileLock.IsAvailable)
            {
                await LockKeptOpenAsync(pathLock, path + ".lock", cancellationToken).ConfigureAwait(false);
                return new Held(pathLock, fileLock: null);
            }

            var fileLock = await AcquireFileLockAsync(path + ".lock", cancellationToken).ConfigureAwait(false);
            return new Held(pathLock, fileLock);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            pathLock.Gate.Release();
            throw ex is FolderNotCreatedException ? WriteFailed(Path.GetDirectoryName(path)!, "data folder", ex.InnerException!) : WriteFailed(path + ".lock", "lock file", ex);
        }
        catch
        {
            pathLock.Gate.Release();
            throw;
        }
    }

    /// <summary>
    /// Takes the cross-process lock with <c>flock</c> on the lock file <paramref name="pathLock"/> keeps open (opening it
    /// first when it is not), waiting while another process holds it. The caller holds <paramref name="pathLock"/>'s gate.
    /// </summary>
    private static async ValueTask LockKeptOpenAsync(PathLock pathLock, string lockPath, CancellationToken cancellationToken)
    {
        if (pathLock.OpenNode is { } node)
        {
            lock (OpenLockFiles)
            {
                OpenLockFiles.Remove(node);
                OpenLockFiles.AddLast(node);
            }
        }

        long started = 0;
        int delayMs = 1;
        while (!TryLockKeptOpen(pathLock, lockPath))
        {
            // Another process holds the lock: try again shortly.
            if (started == 0)
            {
                started = Time.GetTimestamp();
            }
            else if (Time.GetElapsedTime(started) >= LockTimeout)
            {
                throw new IOException($"Another process has held the lock file '{lockPath}' for {LockTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(delayMs), Time, cancellationToken).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, 50);
        }
    }

    /// <summary>
    /// Opens the lock file when it is not open, and takes its lock: false when another process holds it. A lock file kept
    /// open that the path no longer names (deleted, or replaced) is closed and the path's file opened instead.
    /// </summary>
    private static bool TryLockKeptOpen(PathLock pathLock, string lockPath)
    {
        for (int reopened = 0; ; reopened++)
        {
            if (pathLock.File is null)
            {
                try
                {
                    pathLock.File = OpenLockFile(lockPath);
                }
                catch (IOException ex) when (IsHeldByAnother(ex))
                {
                    // .NET takes a shared lock as it opens a file it shares, which an exclusive holder refuses.
                    return false;
                }

                if (AddOpen(pathLock) > MaxOpenLockFiles)
                {
                    CloseIdleLockFiles(pathLock);
                }
            }

            if (!UnixFileLock.TryLockExclusive(pathLock.File, lockPath))
            {
                return false;
            }

            if (UnixFileLock.IsFileAtPath(pathLock.File, lockPath))
            {
                return true;
            }

            // Locked a file the path no longer names: another process locking the path would not see it. Closing releases it.
            CloseLockFile(pathLock);
            if (reopened > 0)
            {
                // Replaced again at once (or a file system whose stat and fstat disagree): the caller waits and tries
                // again until its lock timeout instead of looping here.
                return false;
            }
        }
    }

    /// <summary>Records that <paramref name="pathLock"/>'s lock file is open, as the most recently used; returns how many are.</summary>
    private static int AddOpen(PathLock pathLock)
    {
        lock (OpenLockFiles)
        {
            pathLock.OpenNode = OpenLockFiles.AddLast(pathLock);
            return OpenLockFiles.Count;
        }
    }

    /// <summary>Closes <paramref name="pathLock"/>'s lock file, which releases its lock; the caller holds its gate.</summary>
    private static void CloseLockFile(PathLock pathLock)
    {
        if (pathLock.Target is { } target)
        {
            pathLock.Target = null;
            target.Dispose();
        }

        if (pathLock.File is { } file)
        {
            pathLock.File = null;
            file.Dispose();
        }

        if (pathLock.OpenNode is { } node)
        {
            pathLock.OpenNode = null;
            lock (OpenLockFiles)
            {
                OpenLockFiles.Remove(node);
            }
        }
    }

    /// <summary>Opens (or creates) a lock file to keep open, shared, creating its folder when it is missing.</summary>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenLockFile(string lockPath)
    {
        try
        {
            return File.OpenHandle(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (IOException missing) when (missing is DirectoryNotFoundException or FileNotFoundException)
        {
            // As in AcquireFileLockAsync: only a missing folder fails OpenOrCreate with ENOENT.
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new FolderNotCreatedException(ex);
            }

            return File.OpenHandle(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
    }

    /// <summary>
    /// Closes the lock files of idle locks (their gate free), least recently used first, until half of
    /// <see cref="MaxOpenLockFiles"/> remain open, and drops those locks from the table; <paramref name="current"/> (held by
    /// the caller) is left alone. Walks the open lock files only, never every path ever locked.
    /// </summary>
    private static void CloseIdleLockFiles(PathLock current)
    {
        List<PathLock> oldest;
        lock (OpenLockFiles)
        {
            int excess = OpenLockFiles.Count - (MaxOpenLockFiles / 2);
            oldest = new List<PathLock>(Math.Max(excess, 0));
            for (var node = OpenLockFiles.First; node is not null && oldest.Count < excess; node = node.Next)
            {
                if (node.Value != current)
                {
                    oldest.Add(node.Value);
                }
            }
        }

        foreach (var idle in oldest)
        {
            if (idle.Gate.Wait(0))
            {
                try
                {
                    if (!idle.Dropped && idle.File is not null)
                    {
                        CloseLockFile(idle);
                        Drop(idle);
                    }
                }
                finally
                {
                    idle.Gate.Release();
                }
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="pathLock"/> (whose gate the caller holds, with its lock file closed) out of the table; a
    /// taker that already found it sees <see cref="PathLock.Dropped"/> and takes the path's new entry.
    /// </summary>
    private static void Drop(PathLock pathLock)
    {
        pathLock.Dropped = true;
        Locks.TryRemove(new KeyValuePair<string, PathLock>(pathLock.Key, pathLock));
    }

    private static async ValueTask<Microsoft.Win32.SafeHandles.SafeFileHandle> AcquireFileLockAsync(string lockPath, CancellationToken cancellationToken)
    {
        long started = Time.GetTimestamp();
        int delayMs = 1;
        bool createdFolder = false;
        while (true)
        {
            try
            {
                // FileShare.None takes the exclusive lock (flock on Unix, a share mode on Windows) as it opens.
                return File.OpenHandle(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException missing) when ((missing is DirectoryNotFoundException or FileNotFoundException) && !createdFolder)
            {
                // OpenOrCreate fails with ENOENT only when the folder is missing. .NET names it FileNotFoundException
                // instead when another thread created the folder between the failed open and the exception's making.
                createdFolder = true;
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new FolderNotCreatedException(ex);
                }
            }
            catch (IOException ex) when (IsHeldByAnother(ex) && Time.GetElapsedTime(started) < LockTimeout)
            {
                // Another process holds the lock: try again shortly.
                await Task.Delay(TimeSpan.FromMilliseconds(delayMs), Time, cancellationToken).ConfigureAwait(false);
                delayMs = Math.Min(delayMs * 2, 50);
            }
        }
    }

    /// <summary>The folder of a lock file could not be created: reported as the data folder's failure.</summary>
    private sealed class FolderNotCreatedException(Exception inner) : IOException(inner.Message, inner);

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A path's lock within the process (its gate) and, on Unix, the lock file kept open for it.</summary>
    private sealed class PathLock(string key)
    {
        /// <summary>The path, the lock's key in the table.</summary>
        public string Key { get; } = key;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>The open lock file (Unix), or null when it is not open; changed only by the gate's holder.</summary>
        public Microsoft.Win32.SafeHandles.SafeFileHandle? File { get; set; }

        /// <summary>
        /// The file the lock guards, kept open to append to while the lock file is (Unix, see <see cref="OpenTarget"/>), or
        /// null; changed only by the gate's holder.
        /// </summary>
        public Microsoft.Win32.SafeHandles.SafeFileHandle? Target { get; set; }

        /// <summary>Its place in the list of open lock files while <see cref="File"/> is open; changed only by the gate's holder.</summary>
        public LinkedListNode<PathLock>? OpenNode { get; set; }

        /// <summary>Taken out of the table (its lock file closed while idle): whoever waited for its gate takes the path's new entry.</summary>
        public bool Dropped { get; set; }
    }

    /// <summary>A lock held: the lock file's <c>flock</c> (kept open) or its handle opened exclusively (Windows), and the gate.</summary>
    private sealed class Held(PathLock pathLock, Microsoft.Win32.SafeHandles.SafeFileHandle? fileLock) : IAsyncDisposable
    {
        private int _disposed;

        /// <summary>The path's lock within the process.</summary>
        public PathLock PathLock => pathLock;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                if (fileLock is not null)
                {
                    fileLock.Dispose();
                }
                else if (pathLock.File is { } file && !UnixFileLock.Unlock(file))
                {
                    // Closing the file releases its lock for certain.
                    CloseLockFile(pathLock);
                    Drop(pathLock);
                }

                pathLock.Gate.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
