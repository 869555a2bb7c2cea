using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>
/// A session busy lock that holds across every process (and every service provider in one process) sharing a folder:
/// an operating-system lock on a file per session. The default lock of the file store (in
/// <c>&lt;DataDirectory&gt;/locks</c>) and of the SQLite store (in <c>&lt;database&gt;.locks</c>).
/// </summary>
/// <remarks>
/// <para>The lock is an exclusive, non-blocking file lock (<c>flock</c> on Unix, a share mode on Windows): a second
/// taker, in this process or another, fails at once, and the operating system releases the lock when its holder
/// exits or dies, so a crashed process never leaves a session busy. The lock files are empty and stay in place
/// (deleting them while others may open them would let two holders in).</para>
/// <para><see cref="RequestAbort"/> reaches a holder of another provider instance (in another process or this one)
/// through a marker file the holder's lease checks every <see cref="AbortPollInterval"/>; a holder of this instance
/// is aborted at once. The poll waits on other processes, so the default registrations run it on
/// <see cref="TimeProvider.System"/>, whatever clock the app injects.</para>
/// <para>The folder must be on a local file system (network file systems may not honor the locks), and .NET's
/// file locking must not be turned off (<c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>).</para>
/// </remarks>
public sealed class FileSessionLockProvider : ISessionLockProvider, IDisposable, IAsyncDisposable
{
    /// <summary>The default of <see cref="AbortPollInterval"/>: 250 ms.</summary>
    public static readonly TimeSpan DefaultAbortPollInterval = TimeSpan.FromMilliseconds(250);

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Lease> _held = new(StringComparer.Ordinal);

    /// <summary>Creates a lock provider whose lock files live in <paramref name="directory"/> (created when first needed).</summary>
    /// <param name="directory">The folder of the lock files; every process that shares the sessions must use the same one.</param>
    /// <param name="timeProvider">The clock of the abort polling. Default: <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or white space.</exception>
    public FileSessionLockProvider(string directory, TimeProvider? timeProvider = null)
        : this(directory, DefaultAbortPollInterval, timeProvider)
    {
    }

    /// <summary>Creates a lock provider whose lock files live in <paramref name="directory"/>, polling for aborts every <paramref name="abortPollInterval"/>.</summary>
    /// <param name="directory">The folder of the lock files; every process that shares the sessions must use the same one.</param>
    /// <param name="abortPollInterval">How often a held lock checks for an abort requested through another provider instance.</param>
    /// <param name="timeProvider">The clock of the abort polling. Default: <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null, empty or white space.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="abortPollInterval"/> is not positive.</exception>
    public FileSessionLockProvider(string directory, TimeSpan abortPollInterval, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (abortPollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(abortPollInterval), abortPollInterval, "The abort poll interval must be positive.");
        }

        _directory = Path.GetFullPath(directory);
        AbortPollInterval = abortPollInterval;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The folder of the lock files (a full path).</summary>
    public string LockDirectory => _directory;

    /// <summary>How often a held lock checks for an abort requested through another provider instance.</summary>
    public TimeSpan AbortPollInterval { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    public ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        cancellationToken.ThrowIfCancellationRequested();
        Directory.CreateDirectory(_directory);
        if (TryLock(sessionId) is not { } file)
        {
            return ValueTask.FromResult<ISessionLease?>(null);
        }

        // An abort that arrived after the previous holder finished is not meant for this turn.
        FileAppender.TryDelete(AbortMarker(sessionId));
        var lease = new Lease(this, sessionId, file);
        _held[sessionId] = lease;
        lease.StartPolling();
        return ValueTask.FromResult<ISessionLease?>(lease);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Returns true when the session's lock is held through this instance (its lease is aborted at once) or through
    /// another one, in this process or another (it is asked through a marker file and aborts within the poll interval).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    public bool RequestAbort(string sessionId)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        if (_held.TryGetValue(sessionId, out var local))
        {
            local.Abort();
            return true;
        }

        if (!File.Exists(LockPath(sessionId)))
        {
            return false;
        }

        if (TryLock(sessionId) is { } free)
        {
            free.Dispose(); // Nobody holds it.
            return false;
        }

        File.WriteAllBytes(AbortMarker(sessionId), []);
        return true;
    }

    /// <summary>Releases every lock this provider still holds.</summary>
    public void Dispose()
    {
        foreach (var lease in _held.Values)
        {
            lease.Release();
        }
    }

    /// <summary>Releases every lock this provider still holds.</summary>
    /// <returns>A completed task: releasing a lock does not wait.</returns>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private FileStream? TryLock(string sessionId)
    {
        try
        {
            return new FileStream(LockPath(sessionId), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
        }
        catch (IOException ex) when (FileAppender.IsHeldByAnother(ex))
        {
            return null; // Locked by another holder.
        }
    }

    private string LockPath(string sessionId) => Path.Combine(_directory, sessionId + ".lock");

    private string AbortMarker(string sessionId) => Path.Combine(_directory, sessionId + ".abort");

    private sealed class Lease : ISessionLease
    {
        private readonly FileSessionLockProvider _owner;
        private readonly FileStream _file;
        private readonly CancellationTokenSource _abort = new();
        private ITimer? _timer;
        private int _released;

        public Lease(FileSessionLockProvider owner, string sessionId, FileStream file)
        {
            _owner = owner;
            SessionId = sessionId;
            _file = file;
            AbortRequested = _abort.Token;
        }

        public string SessionId { get; }

        // Kept from the start, so reading it after the lease is released does not throw.
        public CancellationToken AbortRequested { get; }

        public void StartPolling() =>
            _timer = _owner._time.CreateTimer(static state => ((Lease)state!).Poll(), this, _owner.AbortPollInterval, _owner.AbortPollInterval);

        public void Abort()
        {
            try
            {
                _abort.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Released in the meantime: nothing left to abort.
            }
        }

        public ValueTask DisposeAsync()
        {
            Release();
            return ValueTask.CompletedTask;
        }

        public void Release()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            _timer?.Dispose();
            _owner._held.TryRemove(new KeyValuePair<string, Lease>(SessionId, this));
            _file.Dispose(); // Closing the handle releases the operating-system lock.
            _abort.Dispose();
        }

        private void Poll()
        {
            if (Volatile.Read(ref _released) != 0 || _abort.IsCancellationRequested)
            {
                return;
            }

            string marker = _owner.AbortMarker(SessionId);
            if (File.Exists(marker))
            {
                FileAppender.TryDelete(marker);
                Abort();
            }
        }
    }
}
