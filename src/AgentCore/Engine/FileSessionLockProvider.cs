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
/// <para><see cref="RequestAbortAsync"/> reaches a holder of another provider instance (in another process or this one)
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
    private readonly SessionLeases _leases = new();

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
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        Directory.CreateDirectory(_directory);
        if (TryLock(sessionId) is not { } file)
        {
            return ValueTask.FromResult<ISessionLease?>(null);
        }

        // An abort that arrived after the previous holder finished is not meant for this turn.
        FileAppender.TryDelete(AbortMarker(sessionId));
        var lease = new Lease(this, sessionId, file);
        _leases.Add(lease);
        lease.StartPolling();
        return ValueTask.FromResult<ISessionLease?>(lease);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Returns true when the session's lock is held through this instance (its lease is aborted at once) or through
    /// another one, in this process or another (it is asked through a marker file and aborts within the poll interval).
    /// Completes synchronously: it only checks and writes local files.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    public ValueTask<bool> RequestAbortAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        cancellationToken.ThrowIfCancellationRequested();
        if (_leases.TryAbort(sessionId))
        {
            return ValueTask.FromResult(true);
        }

        if (!File.Exists(LockPath(sessionId)))
        {
            return ValueTask.FromResult(false);
        }

        if (TryLock(sessionId) is { } free)
        {
            free.Dispose(); // Nobody holds it.
            return ValueTask.FromResult(false);
        }

        File.WriteAllBytes(AbortMarker(sessionId), []);
        return ValueTask.FromResult(true);
    }

    /// <summary>Releases every lock this provider still holds.</summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);

    /// <summary>Releases every lock this provider still holds.</summary>
    /// <returns>A task that completes when the locks are released (at once: releasing a file lock does not wait).</returns>
    public ValueTask DisposeAsync() => _leases.ReleaseAllAsync();

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

    private sealed class Lease : SessionLease
    {
        private readonly FileSessionLockProvider _owner;
        private readonly FileStream _file;
        private ITimer? _timer;

        public Lease(FileSessionLockProvider owner, string sessionId, FileStream file)
            : base(owner._leases, sessionId)
        {
            _owner = owner;
            _file = file;
        }

        public void StartPolling() =>
            _timer = _owner._time.CreateTimer(static state => ((Lease)state!).Poll(), this, _owner.AbortPollInterval, _owner.AbortPollInterval);

        protected override ValueTask ReleaseLockAsync()
        {
            _timer?.Dispose();
            _file.Dispose(); // Closing the handle releases the operating-system lock.
            return ValueTask.CompletedTask;
        }

        private void Poll()
        {
            if (IsReleased || AbortRequested.IsCancellationRequested)
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
