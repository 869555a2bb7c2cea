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
/// session id) on a dedicated, unpooled connection. A second taker, on any instance, gets null at once. The lock is
/// released when the lease is disposed, and by the server when the holder's connection ends: a crashed instance
/// frees its sessions as soon as the server notices the connection is gone (see <c>docs/scaling-out.md</c> on TCP
/// keepalives for hosts that vanish without closing their connections).</para>
/// <para><see cref="RequestAbort"/> sends <c>NOTIFY agentcore_session_abort</c> with the session id when the lock is held
/// anywhere (it checks <c>pg_locks</c>); every lease <c>LISTEN</c>s on its connection, and the holder's
/// <see cref="ISessionLease.AbortRequested"/> fires. If the lease's connection breaks, the lock is gone, so the lease
/// fires <see cref="ISessionLease.AbortRequested"/> as well: the turn must stop, as another instance may now take the session.</para>
/// <para>One connection per running turn: size the server's <c>max_connections</c> for the turns all instances run at once.</para>
/// </remarks>
public sealed partial class PostgreSqlSessionLockProvider : ISessionLockProvider, IAsyncDisposable, IDisposable
{
    /// <summary>The LISTEN/NOTIFY channel abort requests travel on; the payload is the session id.</summary>
    public const string AbortChannel = "agentcore_session_abort";

    private readonly NpgsqlDataSource _leaseConnections;
    private readonly NpgsqlDataSource _queries;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lease> _held = new(StringComparer.Ordinal);

    /// <summary>Creates a lock provider for the database <paramref name="connectionString"/> points to.</summary>
    public PostgreSqlSessionLockProvider(string connectionString, ILogger<PostgreSqlSessionLockProvider>? logger = null)
    {
        PostgreSqlSessionStore.ValidConnectionString(connectionString);
        // Leases need connections of their own for their lifetime: a pooled connection would be reset (unlocking) or shared.
        _leaseConnections = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Multiplexing = false });
        _queries = NpgsqlDataSource.Create(connectionString);
        _logger = logger ?? NullLogger<PostgreSqlSessionLockProvider>.Instance;
    }

    /// <inheritdoc />
    public async ValueTask<ISessionLease?> TryAcquireAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        long key = LockKey(sessionId);
        var connection = await _leaseConnections.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // LISTEN first, in the same round trip: an abort sent once the lock is ours is never missed.
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand($"LISTEN {AbortChannel}"),
                    new NpgsqlBatchCommand("SELECT pg_try_advisory_lock($1)") { Parameters = { new NpgsqlParameter { Value = key } } },
                },
            };
            if (await batch.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                return null;
            }

            var lease = new Lease(this, sessionId, key, connection);
            _held[sessionId] = lease;
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
    /// A holder in this instance is aborted at once. Otherwise one query notifies the holder if the session's lock is
    /// held on any instance; returns whether it was. This call does network I/O (the interface is synchronous).
    /// </remarks>
    public bool RequestAbort(string sessionId)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        if (_held.TryGetValue(sessionId, out var local))
        {
            local.Abort();
            return true;
        }

        long key = LockKey(sessionId);
        using var connection = _queries.OpenConnection();
        using var command = new NpgsqlCommand($"""
            SELECT pg_notify('{AbortChannel}', $1)
            FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND objsubid = 1
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND classid::bigint = $2 AND objid::bigint = $3
            LIMIT 1
            """, connection);
        command.Parameters.AddWithValue(sessionId);
        command.Parameters.AddWithValue((long)((ulong)key >> 32));
        command.Parameters.AddWithValue(key & 0xFFFF_FFFFL);
        using var reader = command.ExecuteReader();
        return reader.Read();
    }

    /// <summary>Releases every lock this provider holds and closes its connections.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var lease in _held.Values)
        {
            await lease.DisposeAsync().ConfigureAwait(false);
        }

        await _leaseConnections.DisposeAsync().ConfigureAwait(false);
        await _queries.DisposeAsync().ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the connection holding the lock of session {SessionId}; its turn is asked to abort")]
    private partial void LogLockLost(string sessionId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the lock of session {SessionId} cleanly; closing its connection releases it")]
    private partial void LogReleaseFailed(string sessionId, Exception exception);

    private sealed class Lease : ISessionLease
    {
        private readonly PostgreSqlSessionLockProvider _owner;
        private readonly long _key;
        private readonly NpgsqlConnection _connection;
        private readonly CancellationTokenSource _abort = new();
        private readonly CancellationTokenSource _stop = new();
        private Task _listening = Task.CompletedTask;
        private int _released;

        public Lease(PostgreSqlSessionLockProvider owner, string sessionId, long key, NpgsqlConnection connection)
        {
            _owner = owner;
            SessionId = sessionId;
            _key = key;
            _connection = connection;
            AbortRequested = _abort.Token;
            _connection.Notification += OnNotification;
        }

        public string SessionId { get; }

        // Kept from the start, so reading it after the lease is released does not throw.
        public CancellationToken AbortRequested { get; }

        public void Start() => _listening = Task.Run(ListenAsync);

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

            _owner._held.TryRemove(new KeyValuePair<string, Lease>(SessionId, this));
            await _stop.CancelAsync().ConfigureAwait(false);
            await _listening.ConfigureAwait(false);
            _connection.Notification -= OnNotification;
            try
            {
                // Unlock explicitly: closing alone releases the lock only once the server has processed the disconnect.
                await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", _connection);
                unlock.Parameters.AddWithValue(_key);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                _owner.LogReleaseFailed(SessionId, ex);
            }

            await _connection.DisposeAsync().ConfigureAwait(false);
            _abort.Dispose();
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
