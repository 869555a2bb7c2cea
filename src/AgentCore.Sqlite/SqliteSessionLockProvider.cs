using System.Collections.Concurrent;

namespace AgentCore;

/// <summary>
/// A session busy lock that holds across the processes sharing one SQLite database file: an operating-system
/// lock on a file per session in the folder <c>&lt;database&gt;.locks</c> beside the database.
/// </summary>
/// <remarks>
/// <para>The lock is an exclusive, non-blocking file lock (<c>flock</c> on Unix, a share mode on Windows): a second
/// taker, in this process or another, fails at once, and the operating system releases the lock when its holder
/// exits or dies, so a crashed process never leaves a session busy. The lock files are empty and stay in place
/// (deleting them while others may open them would let two holders in).</para>
/// <para><see cref="RequestAbort"/> reaches a holder in another process through a marker file the holder's lease
/// checks every <see cref="SqliteStoreOptions.AbortPollInterval"/>; a holder in this process is aborted at once.</para>
/// <para>The folder must be on a local file system (network file systems may not honor the locks), and .NET's
/// file locking must not be turned off (<c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>).</para>
/// </remarks>
public sealed class SqliteSessionLockProvider : ISessionLockProvider, IAsyncDisposable, IDisposable
{
    private readonly string _directory;
    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Lease> _held = new(StringComparer.Ordinal);

    /// <summary>Creates a lock provider for the database file <paramref name="databasePath"/>.</summary>
    public SqliteSessionLockProvider(string databasePath, TimeProvider? timeProvider = null)
        : this(databasePath, new SqliteStoreOptions(), timeProvider)
    {
    }

    /// <summary>Creates a lock provider for the database file <paramref name="databasePath"/> with <paramref name="options"/>.</summary>
    public SqliteSessionLockProvider(string databasePath, SqliteStoreOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _directory = Path.GetFullPath(databasePath) + ".locks";
        _pollInterval = options.AbortPollInterval;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <inheritdoc />
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
    /// Returns true when the session's lock is held in this process (its lease is aborted at once) or in another
    /// process (it is asked through a marker file and aborts within the poll interval).
    /// </remarks>
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
    public async ValueTask DisposeAsync()
    {
        foreach (var lease in _held.Values)
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The same as <see cref="DisposeAsync"/>, for a container disposed synchronously (blocks until the locks are released).</summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);

    private FileStream? TryLock(string sessionId)
    {
        try
        {
            return new FileStream(LockPath(sessionId), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 1);
        }
        catch (IOException) when (File.Exists(LockPath(sessionId)))
        {
            return null; // Locked by another holder.
        }
    }

    private string LockPath(string sessionId) => Path.Combine(_directory, sessionId + ".lock");

    private string AbortMarker(string sessionId) => Path.Combine(_directory, sessionId + ".abort");

    private sealed class Lease : ISessionLease
    {
        private readonly SqliteSessionLockProvider _owner;
        private readonly FileStream _file;
        private readonly CancellationTokenSource _abort = new();
        private ITimer? _timer;
        private int _released;

        public Lease(SqliteSessionLockProvider owner, string sessionId, FileStream file)
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
            _timer = _owner._time.CreateTimer(static state => ((Lease)state!).Poll(), this, _owner._pollInterval, _owner._pollInterval);

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

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            if (_timer is not null)
            {
                await _timer.DisposeAsync().ConfigureAwait(false);
            }

            _owner._held.TryRemove(new KeyValuePair<string, Lease>(SessionId, this));
            await _file.DisposeAsync().ConfigureAwait(false);
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
