using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace AgentCore;

/// <summary>
/// Carries session events between app instances on one PostgreSQL database (<c>UsePostgreSql(cs, o =&gt; o.UseEvents = true)</c>):
/// an events table the instance running a turn appends to, and <c>NOTIFY</c> as the wake-up of the instances that follow
/// the session (see <c>docs/scaling-out.md</c>).
/// </summary>
/// <remarks>
/// <para>Writes: <see cref="Append"/> queues the event; one background writer takes whatever is queued (up to
/// <see cref="MaxBatch"/> events), writes it with one multi-row <c>INSERT</c> and one <c>pg_notify</c> per session in the same
/// round trip, and comes back for more. A turn never waits for the database per event: while a write is in flight, the next
/// events pile up and go in the next one, so the number of round trips adapts to the database's speed.</para>
/// <para>Reads: one connection per instance, held from the first follower on, <c>LISTEN</c>s on <see cref="Channel"/>; a follower reads the rows after
/// its last sequence, then waits for a notification about its session (from another instance) and reads again. After the
/// listening connection breaks, it reconnects and every follower reads again, so nothing is lost, only delayed.</para>
/// <para>Rows older than the retention are deleted by the writer, at most once a minute.</para>
/// </remarks>
internal sealed partial class PostgreSqlSessionEventRelay : ISessionEventRelay, IAsyncDisposable
{
    /// <summary>The LISTEN/NOTIFY channel; the payload is the session id and the writing instance's id, space-separated.</summary>
    public const string Channel = "agentcore_events";

    /// <summary>The most events one write takes.</summary>
    public const int MaxBatch = 1000;

    private const int ReadPage = 500;

    private const long SchemaLockKey = 0x6167_6e74_6576_6e74;   // "agntevnt"

    private static readonly TimeSpan s_purgeInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_retryDelay = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _data;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly Channel<SessionEvent> _queue = System.Threading.Channels.Channel.CreateUnbounded<SessionEvent>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Watch> _watches = new(StringComparer.Ordinal);
    private readonly List<(long Target, TaskCompletionSource Done)> _flushes = [];
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _writer;
    private Task? _listener;
    private volatile bool _schemaReady;
    private long _appended;
    private long _written;
    private long _lastPurge;

    public PostgreSqlSessionEventRelay(NpgsqlDataSource data, TimeSpan retention, TimeProvider time, ILogger? logger = null)
    {
        _data = data;
        _retention = retention;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _lastPurge = time.GetTimestamp() - (long)(s_purgeInterval.TotalSeconds * time.TimestampFrequency);
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <inheritdoc />
    public void Append(SessionEvent sessionEvent)
    {
        ArgumentNullException.ThrowIfNull(sessionEvent);
        Interlocked.Increment(ref _appended);
        if (!_queue.Writer.TryWrite(sessionEvent))
        {
            Interlocked.Increment(ref _written);   // disposed: nothing will write it
        }
    }

    /// <inheritdoc />
    public Task FlushAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        long target = Volatile.Read(ref _appended);
        lock (_gate)
        {
            if (Volatile.Read(ref _written) >= target)
            {
                return Task.CompletedTask;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _flushes.Add((target, done));
            return done.Task.WaitAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async Task<long?> GetLastSequenceAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var command = _data.CreateCommand("SELECT max(sequence) FROM agentcore_events WHERE session_id = $1");
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long last ? last : null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionEvent> ReadAsync(string sessionId, long afterSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var page = await ReadPageAsync(sessionId, afterSequence, cancellationToken).ConfigureAwait(false);
            foreach (var sessionEvent in page)
            {
                afterSequence = sessionEvent.Sequence;
                yield return sessionEvent;
            }

            if (page.Count < ReadPage)
            {
                yield break;
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionEvent> FollowAsync(string sessionId, long afterSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _listener ??= Task.Run(ListenLoopAsync, CancellationToken.None);
        }

        // Listening before the first read: a row stored after that read is announced by a notification this sees.
        await _listening.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        Watch watch;
        lock (_gate)
        {
            if (!_watches.TryGetValue(sessionId, out watch!))
            {
                _watches[sessionId] = watch = new Watch();
            }

            watch.Followers++;
        }

        try
        {
            while (true)
            {
                Task signal;
                lock (_gate)
                {
                    signal = watch.Signal.Task;
                }

                while (true)
                {
                    List<SessionEvent> page;
                    try
                    {
                        page = await ReadPageAsync(sessionId, afterSequence, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException && !cancellationToken.IsCancellationRequested)
                    {
                        // The rows stay: read again from the same sequence once the database answers.
                        LogFollowRetried(ex, sessionId);
                        await Task.Delay(s_retryDelay, _time, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    foreach (var sessionEvent in page)
                    {
                        afterSequence = sessionEvent.Sequence;
                        yield return sessionEvent;
                    }

                    if (page.Count < ReadPage)
                    {
                        break;
                    }
                }

                await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_gate)
            {
                if (--watch.Followers == 0)
                {
                    _watches.Remove(sessionId);
                }
            }
        }
    }

    /// <summary>Writes what is queued, stops listening, and closes the listening connection.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? listener;
        lock (_gate)
        {
            listener = _listener;
        }

        if (listener is not null)
        {
            await listener.ConfigureAwait(false);
        }

        _stop.Dispose();
        _schemaGate.Dispose();
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<SessionEvent>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var sessionEvent))
            {
                batch.Add(sessionEvent);
            }

            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    await WriteAsync(batch).ConfigureAwait(false);
                    break;
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
                {
                    if (attempt == 3 || _stop.IsCancellationRequested)
                    {
                        LogWriteFailed(ex, batch.Count);
                        break;
                    }

                    LogWriteRetried(ex, attempt);
                    await Task.Delay(s_retryDelay, _time).ConfigureAwait(false);
                }
            }

            long written = Interlocked.Add(ref _written, batch.Count);
            lock (_gate)
            {
                _flushes.RemoveAll(flush =>
                {
                    if (flush.Target > written)
                    {
                        return false;
                    }

                    flush.Done.TrySetResult();
                    return true;
                });
            }
        }
    }

    private async Task WriteAsync(List<SessionEvent> events)
    {
        await EnsureSchemaAsync(CancellationToken.None).ConfigureAwait(false);
        var sessions = new string[events.Count];
        var sequences = new long[events.Count];
        var types = new string[events.Count];
        var payloads = new string[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            sessions[i] = events[i].SessionId;
            sequences[i] = events[i].Sequence;
            types[i] = SessionEventJson.TypeOf(events[i]);
            payloads[i] = SessionEventJson.Serialize(events[i]);
        }

        var notified = sessions.Distinct(StringComparer.Ordinal).Select(id => id + " " + _instance).ToArray();
        var connection = await _data.OpenConnectionAsync().ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                // ON CONFLICT: a write retried after an ambiguous failure must not fail on the rows it already stored.
                new NpgsqlBatchCommand("""
                    INSERT INTO agentcore_events (session_id, sequence, type, payload)
                    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])
                    ON CONFLICT (session_id, sequence) DO NOTHING
                    """)
                {
                    Parameters =
                    {
                        new NpgsqlParameter { Value = sessions, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                        new NpgsqlParameter { Value = sequences, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
                        new NpgsqlParameter { Value = types, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                        new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                    },
                },
                new NpgsqlBatchCommand($"SELECT pg_notify('{Channel}', n) FROM unnest($1::text[]) AS n")
                {
                    Parameters = { new NpgsqlParameter { Value = notified, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text } },
                },
            },
        };
        await using var batchScope = batch.ConfigureAwait(false);
        long now = _time.GetTimestamp();
        long lastPurge = _lastPurge;
        bool purge = _time.GetElapsedTime(lastPurge, now) >= s_purgeInterval;
        if (purge)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM agentcore_events WHERE created_at < now() - $1::interval")
            {
                Parameters = { new NpgsqlParameter { Value = _retention, NpgsqlDbType = NpgsqlDbType.Interval } },
            });
        }

        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
        if (purge)
        {
            _lastPurge = now;
        }
    }

    private async Task<List<SessionEvent>> ReadPageAsync(string sessionId, long afterSequence, CancellationToken cancellationToken)
    {
        var command = _data.CreateCommand(
            "SELECT sequence, type, payload FROM agentcore_events WHERE session_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3");
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = afterSequence, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = ReadPage, NpgsqlDbType = NpgsqlDbType.Integer });
        var page = new List<SessionEvent>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long sequence = reader.GetInt64(0);
            try
            {
                var sessionEvent = SessionEventJson.Deserialize(reader.GetString(1), reader.GetString(2));
                page.Add(sessionEvent.Sequence == sequence ? sessionEvent : sessionEvent with { Sequence = sequence });
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException)
            {
                // A row this version cannot read (written by a newer one, say): skipped, the stream goes on.
                LogUnreadable(ex, sessionId, sequence);
            }
        }

        return page;
    }

    private async Task ListenLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                // Held while this instance follows sessions; returned to the pool (which resets it, UNLISTEN included) when it breaks or at disposal.
                var connection = await _data.OpenConnectionAsync(_stop.Token).ConfigureAwait(false);
                await using var connectionScope = connection.ConfigureAwait(false);
                connection.Notification += OnNotification;
                var listen = new NpgsqlCommand($"LISTEN {Channel}", connection);
                await using (listen.ConfigureAwait(false))
                {
                    await listen.ExecuteNonQueryAsync(_stop.Token).ConfigureAwait(false);
                }

                _listening.TrySetResult();
                // Notifications may have been missed while not listening: every follower reads again.
                SignalAll();
                while (true)
                {
                    await connection.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or TimeoutException)
            {
                LogListenFailed(ex);
                try
                {
                    await Task.Delay(s_retryDelay, _time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        int space = e.Payload.LastIndexOf(' ');
        if (e.Channel != Channel || space < 0 || e.Payload.AsSpan(space + 1).SequenceEqual(_instance))
        {
            return;   // this instance's own write: its hub has the events already
        }

        string sessionId = e.Payload[..space];
        lock (_gate)
        {
            if (_watches.TryGetValue(sessionId, out var watch))
            {
                watch.Wake();
            }
        }
    }

    private void SignalAll()
    {
        lock (_gate)
        {
            foreach (var watch in _watches.Values)
            {
                watch.Wake();
            }
        }
    }

    private async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (_schemaReady)
        {
            return;
        }

        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_schemaReady)
            {
                return;
            }

            // Its own table, created on first use under a transaction-level advisory lock (instances starting together create it once).
            var connection = await _data.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var transactionScope = transaction.ConfigureAwait(false);
            var create = new NpgsqlCommand($"""
                SELECT pg_advisory_xact_lock({SchemaLockKey});
                CREATE TABLE IF NOT EXISTS agentcore_events (
                    session_id text COLLATE "C" NOT NULL,
                    sequence   bigint      NOT NULL,
                    type       text        NOT NULL, -- SessionEventJson.TypeOf: text-delta, turn-completed, ...
                    payload    text        NOT NULL, -- SessionEventJson.Serialize
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (session_id, sequence)
                );
                CREATE INDEX IF NOT EXISTS agentcore_events_by_age ON agentcore_events (created_at);
                """, connection, transaction);
            await using (create.ConfigureAwait(false))
            {
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} session events to PostgreSQL failed; other instances will not see them")]
    private partial void LogWriteFailed(Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Writing session events to PostgreSQL failed (attempt {Attempt}); retrying")]
    private partial void LogWriteRetried(Exception exception, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: reading its events from PostgreSQL failed; reading again")]
    private partial void LogFollowRetried(Exception exception, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for session events from other instances failed; reconnecting")]
    private partial void LogListenFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: skipped the stored event {Sequence}, which this version cannot read")]
    private partial void LogUnreadable(Exception exception, string sessionId, long sequence);

    /// <summary>The followers of one session in this instance, and the signal a notification about it completes.</summary>
    private sealed class Watch
    {
        public int Followers;

        public TaskCompletionSource Signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes the current signal and starts the next; under the relay's lock.</summary>
        public void Wake()
        {
            var current = Signal;
            Signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            current.TrySetResult();
        }
    }
}
