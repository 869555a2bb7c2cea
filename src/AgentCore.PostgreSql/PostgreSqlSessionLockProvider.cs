using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentCore;

/// <summary>
/// A session busy lock that holds across every app instance on one PostgreSQL database, with an abort that
/// reaches the instance running the turn.
/// </summary>
/// <remarks>
/// <para>Each lease holds a session-level advisory lock (<c>pg_try_advisory_lock</c>, key: a stable 64-bit hash of the
/// session id). A second taker, on any instance, gets null at once. The locks of all of an instance's leases are held on
/// one connection the provider keeps (the holder), so a running turn pins no connection: taking and releasing a lock is
/// one short query on it, and any number of turns run with a small pool. The lock is released when the lease is
/// disposed, and by the server when the holder's connection ends: a crashed instance frees its sessions as soon as the
/// server notices the connection is gone (see <c>docs/scaling-out.md</c> on TCP keepalives for hosts that vanish without
/// closing their connections).</para>
/// <para><see cref="RequestAbortAsync"/> sends <c>NOTIFY agentcore_session_abort</c> with the session id when the lock is held
/// anywhere (it checks <c>pg_locks</c>); a second connection the provider keeps (the listener) <c>LISTEN</c>s, and the
/// holder's <see cref="ISessionLease.AbortRequested"/> fires. If the holder or the listener breaks, the locks (or the way
/// aborts reach them) are gone, so every lease held on them fires <see cref="ISessionLease.AbortRequested"/>: those turns
/// must stop, as another instance may now take their sessions. The listener notices a break it is told of (a closed
/// connection, a terminated backend) at once. The holder is checked every second on the provider's
/// <see cref="TimeProvider"/>: a <c>SELECT 1</c> that fails, or does not finish within 2 seconds, breaks the link, and so
/// does a holder on which no query started or finished for 2 seconds while others wait for it (a long queue of lock
/// queries that keep finishing does not), so a holder whose socket went silent does not block acquires and releases until
/// the command timeout. A broken link's connections are closed, and the next lease opens new ones.</para>
/// <para>The provider keeps two connections from its first lease until it is disposed: opened with its data source's
/// settings and credentials (shared with the store and the history under <c>UsePostgreSql</c>) but not from its pool
/// (<c>Pooling=false</c>), so closing one ends its server session, and every lock it held, for certain.</para>
/// </remarks>
public sealed partial class PostgreSqlSessionLockProvider : ISessionLockProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The LISTEN/NOTIFY channel abort requests travel on; the payload is the session id.</summary>
    public const string AbortChannel = "agentcore_session_abort";

    /// <summary>How often the holder connection is checked while it is open.</summary>
    internal static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long the check's query may take, and how long the holder may go without a query starting or finishing while queries wait for it, before the link is broken.</summary>
    internal static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(2);

    private readonly NpgsqlDataSource _dataSource;

    /// <summary>The data source's connection string with pooling off, for the holder and the listener (see <see cref="OpenOwnConnectionAsync"/>).</summary>
    private readonly string _unpooledConnectionString;
    private readonly bool _ownsDataSource;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SessionLeases _leases = new();

    /// <summary>Leases being taken: reserved before the lock is asked for, so an abort sent once it is granted is not missed.</summary>
    private readonly ConcurrentDictionary<string, Lease> _acquiring = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _linkGate = new(1, 1);
    private Link? _link;
    private bool _disposed;

    /// <summary>Creates a lock provider for the database <paramref name="connectionString"/> points to, on a data source of its own.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="logger">Logs a lost or unclean lock; may be null.</param>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty, malformed, or turns on multiplexing.</exception>
    public PostgreSqlSessionLockProvider(string connectionString, ILogger<PostgreSqlSessionLockProvider>? logger = null)
        : this(NpgsqlDataSource.Create(PostgreSqlSessionStore.ValidConnectionString(connectionString)), ownsDataSource: true, logger)
    {
    }

    /// <summary>Creates a lock provider on <paramref name="dataSource"/> (shared with the store, say), which stays the caller's to dispose.</summary>
    /// <param name="dataSource">The data source; the provider keeps two connections with its settings (outside its pool) open while it holds or has held locks.</param>
    /// <param name="logger">Logs a lost or unclean lock; may be null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="dataSource"/> multiplexes its connections (the provider needs connections of its own to hold locks and listen on).</exception>
    public PostgreSqlSessionLockProvider(NpgsqlDataSource dataSource, ILogger<PostgreSqlSessionLockProvider>? logger = null)
        : this(dataSource ?? throw new ArgumentNullException(nameof(dataSource)), ownsDataSource: false, logger)
    {
    }

    internal PostgreSqlSessionLockProvider(NpgsqlDataSource dataSource, bool ownsDataSource, ILogger? logger, TimeProvider? time = null)
    {
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        if (settings.Multiplexing)
        {
            throw new ArgumentException(
                "The session lock needs a data source without multiplexing: it keeps connections of its own to hold the locks and listen for aborts.",
                nameof(dataSource));
        }

        _dataSource = dataSource;
        settings.Pooling = false;
        _unpooledConnectionString = settings.ConnectionString;
        _ownsDataSource = ownsDataSource;
        _logger = logger ?? NullLogger<PostgreSqlSessionLockProvider>.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc />
    /// <exception cref="ObjectDisposedException">The provider has been disposed.</exception>
    public async ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        if (_leases.Held.ContainsKey(sessionId))
        {
            return null; // held here: the holder connection would take its advisory lock a second time
        }

        var lease = new Lease(this, sessionId, LockKey(sessionId));
        if (!_acquiring.TryAdd(sessionId, lease))
        {
            return null;
        }

        try
        {
            // Checked again once reserved: a lease registers before it leaves the reservations.
            if (_leases.Held.ContainsKey(sessionId))
            {
                return null;
            }

            for (int attempt = 0; ; attempt++)
            {
                var link = await LinkAsync(cancellationToken).ConfigureAwait(false);
                bool locked;
                try
                {
                    locked = await link.RunAsync("SELECT pg_try_advisory_lock($1)", lease.Key, cancellationToken).ConfigureAwait(false) is true;
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException)
                {
                    // The holder is lost, with whatever it held; nothing of this lease was. The first time (the connection
                    // may have died while idle) once more, on new connections.
                    await BreakAsync(link, ex).ConfigureAwait(false);
                    if (attempt > 0)
                    {
                        throw;
                    }

                    continue;
                }

                if (!locked)
                {
                    return null;
                }

                lease.Link = link;
                _leases.Add(lease);
                if (link.IsRetired)
                {
                    // The provider was disposed between the lock and the registration, and may have released its leases
                    // before this one registered: give the lock back (or leave it to the link's close) and refuse.
                    await lease.DisposeAsync().ConfigureAwait(false);
                    throw new ObjectDisposedException(GetType().FullName);
                }

                if (link.IsBroken)
                {
                    lease.Abort(); // lost between the lock and the registration
                }

                return lease;
            }
        }
        finally
        {
            _acquiring.TryRemove(new KeyValuePair<string, Lease>(sessionId, lease));
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A holder in this instance is aborted at once, without I/O. Otherwise one query notifies the holder if the session's
    /// lock is held on any instance; returns whether it was.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a well-formed session id.</exception>
    public async ValueTask<bool> RequestAbortAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        if (_leases.TryAbort(sessionId))
        {
            return true;
        }

        long key = LockKey(sessionId);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand($"""
            SELECT pg_notify('{AbortChannel}', $1)
            FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid::bigint = $2 AND objid::bigint = $3
            LIMIT 1
            """, connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue(sessionId);
        command.Parameters.AddWithValue((long)((ulong)key >> 32));
        command.Parameters.AddWithValue(key & 0xFFFF_FFFFL);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Releases every lock this provider holds, closes its connections and, when it created its data source, that.</summary>
    /// <returns>A task that completes when the locks are released and the connections closed.</returns>
    public async ValueTask DisposeAsync()
    {
        // First refuse new leases: a lease whose lock is granted from here on sees its link retired once it registers and
        // gives the lock back, instead of registering after the release below and having the close free its lock.
        Link? link;
        await _linkGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            link = _link;
            _link = null;
            link?.Retire();
        }
        finally
        {
            _linkGate.Release();
        }

        await _leases.ReleaseAllAsync().ConfigureAwait(false);
        if (link is not null)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }

        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The same as <see cref="DisposeAsync"/>, for a container disposed synchronously (blocks until the locks are released).</summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);

    /// <summary>The advisory lock key of a session: the first 8 bytes of SHA-256 of <c>agentcore:session:&lt;id&gt;</c>.</summary>
    internal static long LockKey(string sessionId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("agentcore:session:" + sessionId), hash);
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }

    /// <summary>
    /// Opens a connection of the provider's own, outside any pool: the data source's settings and credentials (password,
    /// certificate callbacks: <see cref="NpgsqlConnection.CloneWithAsync"/>) with <c>Pooling=false</c>, so closing it ends
    /// its server session, and the advisory locks and <c>LISTEN</c> it held, for certain; a pooled connection would be
    /// kept open by the pool, still holding them.
    /// </summary>
    private async Task<NpgsqlConnection> OpenOwnConnectionAsync(CancellationToken cancellationToken)
    {
        var template = _dataSource.CreateConnection();
        NpgsqlConnection connection;
        await using (template.ConfigureAwait(false))
        {
            connection = await template.CloneWithAsync(_unpooledConnectionString, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The open holder and listener, opened first when there are none (or they broke).</summary>
    private async ValueTask<Link> LinkAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _link) is { IsBroken: false } current)
        {
            return current;
        }

        await _linkGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_link is { IsBroken: false } open)
            {
                return open;
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            var link = await Link.OpenAsync(this, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _link, link);
            return link;
        }
        finally
        {
            _linkGate.Release();
        }
    }

    /// <summary>
    /// Marks <paramref name="link"/> broken (once), aborts every lease held on it, and closes it so that nothing it may
    /// still hold stays held; the next lease opens a new one.
    /// </summary>
    private async Task BreakAsync(Link link, Exception exception)
    {
        if (!link.MarkBroken())
        {
            return;
        }

        Interlocked.CompareExchange(ref _link, null, link);
        foreach (var lease in _leases.Held.Values.OfType<Lease>().Where(l => l.Link == link))
        {
            LogLockLost(lease.SessionId, exception);
            lease.Abort();
        }

        await link.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Aborts the lease of <paramref name="sessionId"/> held or being taken here, on a notification.</summary>
    private void OnAbortNotified(string sessionId)
    {
        if (!_leases.TryAbort(sessionId) && _acquiring.TryGetValue(sessionId, out var taking))
        {
            taking.Abort();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the connection holding the lock of session {SessionId}; its turn is asked to abort")]
    private partial void LogLockLost(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the session locks cleanly; closing their connection releases them")]
    private partial void LogReleaseFailed(Exception exception);

    /// <summary>
    /// The provider's two connections: the holder, where every lock of this instance is taken and released (one query at
    /// a time, under a gate) and which is checked on a timer; and the listener, which waits for abort notifications.
    /// </summary>
    private sealed class Link : IAsyncDisposable
    {
        private readonly PostgreSqlSessionLockProvider _owner;
        private readonly NpgsqlConnection _holder;
        private readonly NpgsqlConnection _listener;
        private readonly SemaphoreSlim _gate = new(1, 1);

        // When a query on the holder last started or finished (TimeProvider timestamp): while queries queue on the gate
        // and keep finishing, the holder is answering, and the check does not wait in their queue.
        private long _lastProgress;
        private readonly CancellationTokenSource _stop = new();
        private Task _listening = Task.CompletedTask;
        private Task _checking = Task.CompletedTask;
        private int _broken;
        private int _retired;
        private int _closed;

        private Link(PostgreSqlSessionLockProvider owner, NpgsqlConnection holder, NpgsqlConnection listener)
        {
            _owner = owner;
            _holder = holder;
            _listener = listener;
            _lastProgress = owner._time.GetTimestamp();
        }

        public bool IsBroken => Volatile.Read(ref _broken) != 0;

        /// <summary>Whether the provider is being disposed: no lease may register on this link any more.</summary>
        public bool IsRetired => Volatile.Read(ref _retired) != 0;

        /// <summary>Refuses leases from now on; locks already registered are still released on it.</summary>
        public void Retire() => Interlocked.Exchange(ref _retired, 1);

        /// <summary>Opens the holder and the listener; the listener <c>LISTEN</c>s before any lock is taken.</summary>
        public static async Task<Link> OpenAsync(PostgreSqlSessionLockProvider owner, CancellationToken cancellationToken)
        {
            var holder = await owner.OpenOwnConnectionAsync(cancellationToken).ConfigureAwait(false);
            NpgsqlConnection? listener = null;
            try
            {
                listener = await owner.OpenOwnConnectionAsync(cancellationToken).ConfigureAwait(false);
                var listen = new NpgsqlCommand($"LISTEN {AbortChannel}", listener);
                await using (listen.ConfigureAwait(false))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch
            {
                await holder.DisposeAsync().ConfigureAwait(false);
                if (listener is not null)
                {
                    await listener.DisposeAsync().ConfigureAwait(false);
                }

                throw;
            }

            var link = new Link(owner, holder, listener);
            listener.Notification += link.OnNotification;
            link._listening = Task.Run(link.ListenAsync, CancellationToken.None);
            link._checking = Task.Run(link.CheckAsync, CancellationToken.None);
            return link;
        }

        /// <summary>Marks the link broken; false when it already was.</summary>
        public bool MarkBroken() => Interlocked.Exchange(ref _broken, 1) == 0;

        /// <summary>
        /// Runs one query of one <c>bigint</c> parameter on the holder and returns its value. Only the wait for the holder
        /// can be cancelled: a lock query cut short could leave a lock held that no lease knows of.
        /// </summary>
        public async Task<object?> RunAsync(string sql, long key, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                Progressed();
                var command = new NpgsqlCommand(sql, _holder) { Parameters = { new NpgsqlParameter { Value = key } } };
                await using var commandScope = command.ConfigureAwait(false);
                object? result = await command.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false);
                Progressed();
                return result;
            }
            finally
            {
                _gate.Release();
            }
        }

        /// <summary>Releases a lease's lock; a link already broken holds nothing any more.</summary>
        public async Task UnlockAsync(long key)
        {
            if (IsBroken)
            {
                return;
            }

            try
            {
                await RunAsync("SELECT pg_advisory_unlock($1)", key, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or ObjectDisposedException)
            {
                await _owner.BreakAsync(this, ex).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Stops listening and checking and closes both connections (they are not pooled, so closing ends the server
        /// session and whatever it held): on a clean close after unlocking all and <c>UNLISTEN</c>, so the locks are free
        /// as this returns.
        /// </summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            await _stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_listening, _checking).ConfigureAwait(false);
            _listener.Notification -= OnNotification;
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                await ResetAsync(_holder, "SELECT pg_advisory_unlock_all()").ConfigureAwait(false);
                await ResetAsync(_listener, "UNLISTEN *").ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
            }

            _stop.Dispose();
            _gate.Dispose();
        }

        private async Task ResetAsync(NpgsqlConnection connection, string sql)
        {
            try
            {
                if (!IsBroken)
                {
                    var command = new NpgsqlCommand(sql, connection);
                    await using var commandScope = command.ConfigureAwait(false);
                    await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException)
            {
                _owner.LogReleaseFailed(ex);
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }

        private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
        {
            if (e.Channel == AbortChannel)
            {
                _owner.OnAbortNotified(e.Payload);
            }
        }

        private async Task ListenAsync()
        {
            try
            {
                while (true)
                {
                    await _listener.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Closed.
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or ObjectDisposedException)
            {
                _ = _owner.BreakAsync(this, ex);
            }
        }

        /// <summary>
        /// Checks the holder every <see cref="CheckInterval"/> (skipped while lock queries keep finishing); a check that
        /// fails, or does not finish within <see cref="CheckTimeout"/> (a silently dead socket, a stalled server), or a
        /// holder making no progress for <see cref="CheckTimeout"/> while queries wait for it, breaks the link.
        /// </summary>
        private async Task CheckAsync()
        {
            try
            {
                while (true)
                {
                    await Task.Delay(CheckInterval, _owner._time, _stop.Token).ConfigureAwait(false);
                    if (_gate.CurrentCount == 0 && !Stalled())
                    {
                        // Busy with lock queries that keep finishing: the holder answers; no need to queue behind them.
                        continue;
                    }

                    await WaitForHolderAsync().ConfigureAwait(false);
                    var check = QueryHolderAsync();
                    try
                    {
                        // Also bounded here: Npgsql's cancellation of the query may itself wait on the network.
                        await check.WaitAsync(CheckTimeout, _owner._time, _stop.Token).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (!_stop.IsCancellationRequested && ex is TimeoutException or OperationCanceledException)
                    {
                        // The check ends on its own once Npgsql has given up on the query; its failure is not news.
                        _ = check.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                        throw new TimeoutException($"The session-lock connection did not answer its check within {CheckTimeout.TotalSeconds:0} s.", ex);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Closed.
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or ObjectDisposedException or TimeoutException)
            {
                _ = _owner.BreakAsync(this, ex);
            }
        }

        private void Progressed() => Volatile.Write(ref _lastProgress, _owner._time.GetTimestamp());

        /// <summary>Whether no query on the holder has started or finished for <see cref="CheckTimeout"/>.</summary>
        private bool Stalled() => _owner._time.GetElapsedTime(Volatile.Read(ref _lastProgress)) >= CheckTimeout;

        /// <summary>
        /// Takes the holder's gate for a check: waits as long as the queries ahead of it keep making progress (under load
        /// the queue can be longer than <see cref="CheckTimeout"/> while the holder answers every query), and gives up
        /// with a <see cref="TimeoutException"/> when none has started or finished for <see cref="CheckTimeout"/>.
        /// </summary>
        private async Task WaitForHolderAsync()
        {
            if (_gate.Wait(0))
            {
                return;
            }

            while (true)
            {
                using var slice = new CancellationTokenSource(CheckTimeout, _owner._time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(slice.Token, _stop.Token);
                try
                {
                    await _gate.WaitAsync(linked.Token).ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (slice.IsCancellationRequested && !_stop.IsCancellationRequested)
                {
                    if (Stalled())
                    {
                        throw new TimeoutException($"No query on the session-lock connection finished within {CheckTimeout.TotalSeconds:0} s.");
                    }
                }
            }
        }

        /// <summary>
        /// One check, with the holder's gate taken: runs <c>SELECT 1</c>, cancelled after <see cref="CheckTimeout"/>
        /// (Npgsql then cancels the query on the server, or closes the connection when that gets no answer); releases the
        /// gate when the query ends.
        /// </summary>
        private async Task QueryHolderAsync()
        {
            try
            {
                Progressed();
                using var timeout = new CancellationTokenSource(CheckTimeout, _owner._time);
                var command = new NpgsqlCommand("SELECT 1", _holder);
                await using var commandScope = command.ConfigureAwait(false);
                await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false);
                Progressed();
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private sealed class Lease : SessionLease
    {
        private readonly PostgreSqlSessionLockProvider _owner;

        public Lease(PostgreSqlSessionLockProvider owner, string sessionId, long key)
            : base(owner._leases, sessionId)
        {
            _owner = owner;
            Key = key;
        }

        public long Key { get; }

        /// <summary>The connections the lock is held on; set once it is.</summary>
        public Link? Link { get; set; }

        protected override async ValueTask ReleaseLockAsync()
        {
            if (Link is { } link)
            {
                await link.UnlockAsync(Key).ConfigureAwait(false);
            }
        }
    }
}
