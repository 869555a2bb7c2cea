using System.Buffers.Binary;
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
/// session id) on a connection it keeps for the turn. A second taker, on any instance, gets null at once. The lock is
/// released when the lease is disposed, and by the server when the holder's connection ends: a crashed instance
/// frees its sessions as soon as the server notices the connection is gone (see <c>docs/scaling-out.md</c> on TCP
/// keepalives for hosts that vanish without closing their connections).</para>
/// <para><see cref="RequestAbortAsync"/> sends <c>NOTIFY agentcore_session_abort</c> with the session id when the lock is held
/// anywhere (it checks <c>pg_locks</c>); every lease <c>LISTEN</c>s on its connection, and the holder's
/// <see cref="ISessionLease.AbortRequested"/> fires. If the lease's connection breaks, the lock is gone, so the lease
/// fires <see cref="ISessionLease.AbortRequested"/> as well: the turn must stop, as another instance may now take the session.</para>
/// <para>A lease keeps one connection of the provider's data source (pooled; shared with the store and the history under
/// <c>UsePostgreSql</c>) for its turn: size the pool's <c>Maximum Pool Size</c> and the server's <c>max_connections</c> for the
/// turns all instances run at once, plus the store's own use.</para>
/// </remarks>
public sealed partial class PostgreSqlSessionLockProvider : ISessionLockProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The LISTEN/NOTIFY channel abort requests travel on; the payload is the session id.</summary>
    public const string AbortChannel = "agentcore_session_abort";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly ILogger _logger;
    private readonly SessionLeases _leases = new();

    /// <summary>Creates a lock provider for the database <paramref name="connectionString"/> points to, on a data source of its own.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="logger">Logs a lost or unclean lock; may be null.</param>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is empty, malformed, or turns on multiplexing.</exception>
    public PostgreSqlSessionLockProvider(string connectionString, ILogger<PostgreSqlSessionLockProvider>? logger = null)
        : this(NpgsqlDataSource.Create(PostgreSqlSessionStore.ValidConnectionString(connectionString)), ownsDataSource: true, logger)
    {
    }

    /// <summary>Creates a lock provider on <paramref name="dataSource"/> (shared with the store, say), which stays the caller's to dispose.</summary>
    /// <param name="dataSource">The data source; each held lock keeps one of its connections open for the turn.</param>
    /// <param name="logger">Logs a lost or unclean lock; may be null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="dataSource"/> multiplexes its connections (a lease needs a connection of its own to listen on).</exception>
    public PostgreSqlSessionLockProvider(NpgsqlDataSource dataSource, ILogger<PostgreSqlSessionLockProvider>? logger = null)
        : this(dataSource ?? throw new ArgumentNullException(nameof(dataSource)), ownsDataSource: false, logger)
    {
    }

    internal PostgreSqlSessionLockProvider(NpgsqlDataSource dataSource, bool ownsDataSource, ILogger? logger)
    {
        if (new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Multiplexing)
        {
            throw new ArgumentException(
                "The session lock needs a data source without multiplexing: each lease keeps a connection of its own to hold the lock and listen for aborts.",
                nameof(dataSource));
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _logger = logger ?? NullLogger<PostgreSqlSessionLockProvider>.Instance;
    }

    /// <inheritdoc />
    public async ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        long key = LockKey(sessionId);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // LISTEN first, in the same round trip: an abort sent once the lock is ours is never missed.
            var batch = ChannelAndLock(connection, "LISTEN", "pg_try_advisory_lock", key);
            await using var batchScope = batch.ConfigureAwait(false);
            if (await batch.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                return null;
            }

            var lease = new Lease(this, sessionId, key, connection);
            _leases.Add(lease);
            lease.Start();
            return lease;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
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

    /// <summary>Releases every lock this provider holds and, when it created its data source, closes its connections.</summary>
    /// <returns>A task that completes when the locks are released and the connections closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await _leases.ReleaseAllAsync().ConfigureAwait(false);

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
    /// A batch on <paramref name="connection"/>: <paramref name="channelCommand"/> (<c>LISTEN</c> or <c>UNLISTEN</c>) on the
    /// abort channel, then the advisory lock function <paramref name="lockFunction"/> of <paramref name="key"/>, in one round trip.
    /// </summary>
    private static NpgsqlBatch ChannelAndLock(NpgsqlConnection connection, string channelCommand, string lockFunction, long key) => new(connection)
    {
        BatchCommands =
        {
            new NpgsqlBatchCommand($"{channelCommand} {AbortChannel}"),
            new NpgsqlBatchCommand($"SELECT {lockFunction}($1)") { Parameters = { new NpgsqlParameter { Value = key } } },
        },
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the connection holding the lock of session {SessionId}; its turn is asked to abort")]
    private partial void LogLockLost(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the lock of session {SessionId} cleanly; closing its connection releases it")]
    private partial void LogReleaseFailed(string sessionId, Exception exception);

    private sealed class Lease : SessionLease
    {
        private readonly PostgreSqlSessionLockProvider _owner;
        private readonly long _key;
        private readonly NpgsqlConnection _connection;
        private readonly CancellationTokenSource _stop = new();
        private Task _listening = Task.CompletedTask;

        public Lease(PostgreSqlSessionLockProvider owner, string sessionId, long key, NpgsqlConnection connection)
            : base(owner._leases, sessionId)
        {
            _owner = owner;
            _key = key;
            _connection = connection;
            _connection.Notification += OnNotification;
        }

        public void Start() => _listening = Task.Run(ListenAsync);

        protected override async ValueTask ReleaseLockAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _listening.ConfigureAwait(false);
            _connection.Notification -= OnNotification;
            try
            {
                // Unlock and stop listening explicitly: the connection goes back to the data source's pool, and closing it
                // there releases nothing until it is reset.
                var unlock = ChannelAndLock(_connection, "UNLISTEN", "pg_advisory_unlock", _key);
                await using var unlockScope = unlock.ConfigureAwait(false);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                _owner.LogReleaseFailed(SessionId, ex);
                // The lock may still be held on this connection: keep it out of the pool, so closing it releases the lock.
                NpgsqlConnection.ClearPool(_connection);
            }

            await _connection.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
        }

        private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
        {
            if (e.Channel == AbortChannel && e.Payload == SessionId)
            {
                Abort();
            }
        }

        private async Task ListenAsync()
        {
            try
            {
                while (true)
                {
                    await _connection.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // Released.
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or ObjectDisposedException)
            {
                _owner.LogLockLost(SessionId, ex);
                Abort();
            }
        }
    }
}
