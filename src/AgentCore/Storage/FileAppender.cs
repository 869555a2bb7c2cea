using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>
/// Appends whole records to files shared by threads and processes, and replaces files atomically.
/// </summary>
/// <remarks>
/// .NET's <see cref="FileMode.Append"/> is not an atomic append (it writes at the end it saw when it opened),
/// so every writer first takes the file's lock: a per-path semaphore within the process and an exclusive
/// lock on a sibling <c>.lock</c> file across processes (<c>flock</c> on Unix, a share mode on Windows).
/// Readers take no lock: records end with a newline, and a reader treats an unterminated tail as not yet written.
/// </remarks>
internal static class FileAppender
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    // Process-wide, so two stores on one directory in one process never contend on the file lock.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    // The retry below waits out another process's disk write: real time, not the app's clock.
    private static TimeProvider Time => TimeProvider.System;

    /// <summary>Appends <paramref name="record"/> (which must end with a newline) to <paramref name="path"/> in one write.</summary>
    public static async ValueTask AppendAsync(string path, ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        await using var held = await LockAsync(path, cancellationToken).ConfigureAwait(false);
        await AppendLockedAsync(path, record, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Appends to a file whose lock the caller holds.</summary>
    /// <remarks>
    /// When the file does not end with a newline (a writer died mid-record), the record is written after a newline,
    /// so the torn record becomes a corrupt line of its own instead of swallowing this one.
    /// </remarks>
    public static async ValueTask AppendLockedAsync(string path, ReadOnlyMemory<byte> record, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        long end = RandomAccess.GetLength(handle);
        if (end > 0)
        {
            byte[] last = new byte[1];
            int read = await RandomAccess.ReadAsync(handle, last, end - 1, cancellationToken).ConfigureAwait(false);
            if (read == 1 && last[0] != (byte)'\n')
            {
                byte[] terminated = new byte[record.Length + 1];
                terminated[0] = (byte)'\n';
                record.Span.CopyTo(terminated.AsSpan(1));
                record = terminated;
            }
        }

        await RandomAccess.WriteAsync(handle, record, end, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="content"/> to <paramref name="path"/> through a temporary file and a rename.</summary>
    public static async ValueTask WriteAtomicAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                await RandomAccess.WriteAsync(handle, content, 0, cancellationToken).ConfigureAwait(false);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Takes the in-process and cross-process lock of <paramref name="path"/>.</summary>
    public static async ValueTask<IAsyncDisposable> LockAsync(string path, CancellationToken cancellationToken)
    {
        // The lock file lives beside the file it guards, which may not exist yet (nor its folder).
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var gate = Gates.GetOrAdd(Path.GetFullPath(path), static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var fileLock = await AcquireFileLockAsync(path + ".lock", cancellationToken).ConfigureAwait(false);
            return new Held(gate, fileLock);
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    private static async ValueTask<FileStream> AcquireFileLockAsync(string lockPath, CancellationToken cancellationToken)
    {
        long started = Time.GetTimestamp();
        int delayMs = 1;
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
            }
            catch (IOException) when (File.Exists(lockPath) && Time.GetElapsedTime(started) < LockTimeout)
            {
                // Another process holds the lock: try again shortly.
                await Task.Delay(TimeSpan.FromMilliseconds(delayMs), Time, cancellationToken).ConfigureAwait(false);
                delayMs = Math.Min(delayMs * 2, 50);
            }
        }
    }

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

    private sealed class Held(SemaphoreSlim gate, FileStream fileLock) : IAsyncDisposable
    {
        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await fileLock.DisposeAsync().ConfigureAwait(false);
            gate.Release();
        }
    }
}
