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
/// <para>Numbering shared by the instances: <c>agentcore_event_sequences</c> holds one row per session, the last number
/// used outside the turns' batches and the instance whose turn numbers the session now (<see cref="BeginTurnAsync"/> to
/// <see cref="EndTurnAsync"/>). <see cref="PublishAsync"/> locks that row (<c>SELECT … FOR UPDATE</c>): when no live turn
/// owns the session it numbers the event above the row's last and the stored events, stores it and moves the row on, all in
/// one transaction; when a turn owns it, it queues the event in <c>agentcore_event_queue</c>, and that turn's end numbers
/// the queue after the turn's own events. A turn's owner is live while the session's advisory busy lock is held (with the
/// PostgreSQL session lock), so a crashed owner's queue is numbered by the next publisher or turn.</para>
/// <para>Rows older than the retention are deleted by the writer, at most once a minute.</para>
/// </remarks>
internal sealed partial class PostgreSqlSessionEventRelay : ISessionEventRelay, IAsyncDisposable
{
    /// <summary>The LISTEN/NOTIFY channel; the payload is the session id and the writing instance's id, space-separated.</summary>
    public const string Channel = "agentcore_events";

    /// <summary>The most events one write takes.</summary>
    public const int MaxBatch = 1000;

    private const int ReadPage = 500;

    /// <summary>The instance field of a notification about an event no instance has delivered to its own subscribers.</summary>
    private const string NobodyDelivered = "-";

    private const long SchemaLockKey = 0x6167_6e74_6576_6e74;   // "agntevnt"

    private static readonly TimeSpan s_purgeInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_retryDelay = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _data;
    private readonly bool _sessionLockShared;
    private readonly List<Channel<(string SessionId, long Sequence)>> _allWatches = [];
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

    /// <param name="data">The database.</param>
    /// <param name="retention">How long events are kept.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="sessionLockShared">
    /// Whether turns hold the PostgreSQL session lock (<see cref="PostgreSqlSessionLockProvider"/>): then a turn that owns a
    /// session's numbering but no longer holds its lock is known to be gone. Without it an owner is trusted until its turn ends.
    /// </param>
    public PostgreSqlSessionEventRelay(NpgsqlDataSource data, TimeSpan retention, TimeProvider time, ILogger? logger = null, bool sessionLockShared = true)
    {
        _data = data;
        _sessionLockShared = sessionLockShared;
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
    public async Task<long?> BeginTurnAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        // A queue left by an owner that is gone (its events were never numbered): numbered first, delivered by every instance's followers.
        var (connection, transaction, counter, queued) = await LockCounterAsync(sessionId, takeQueue: true, cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        long last = await StoreNumberedAsync(
            connection, transaction, sessionId, [.. queued.Select(static e => (e, NobodyDelivered))], Math.Max(counter.Last, ClockFloor()), owner: _instance, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return queued.Count > 0 || counter.Known ? last : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionEvent>> EndTurnAsync(string sessionId, long lastSequence, CancellationToken cancellationToken = default)
    {
        // The turn's rows first: an event numbered after them must not become readable before them.
        await FlushAsync(sessionId, cancellationToken).ConfigureAwait(false);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var (connection, transaction, counter, queued) = await LockCounterAsync(sessionId, takeQueue: true, cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        if (counter.Owner is { } current && current != _instance)
        {
            // Another instance owns the numbering by now (this turn had lost its lock): the numbering and the queue stay theirs.
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return [];
        }

        long after = Math.Max(counter.Last, lastSequence);
        await StoreNumberedAsync(connection, transaction, sessionId, [.. queued.Select(e => (e, _instance))], after, owner: null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return [.. queued.Select((e, i) => e with { Sequence = after + i + 1 })];
    }

    /// <inheritdoc />
    public async Task<long?> PublishAsync(SessionEvent sessionEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionEvent);
        await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        string sessionId = sessionEvent.SessionId;
        var (connection, transaction, counter, _) = await LockCounterAsync(sessionId, takeQueue: false, cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        if (counter.OwnerLive)
        {
            // A turn numbers the session now (on another instance, or this one's, ending): it numbers this at its end.
            var enqueue = new NpgsqlCommand("INSERT INTO agentcore_event_queue (session_id, type, payload) VALUES ($1, $2, $3)", connection, transaction);
            await using (enqueue.ConfigureAwait(false))
            {
                enqueue.Parameters.Add(new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text });
                enqueue.Parameters.Add(new NpgsqlParameter { Value = SessionEventJson.TypeOf(sessionEvent), NpgsqlDbType = NpgsqlDbType.Text });
                enqueue.Parameters.Add(new NpgsqlParameter { Value = SessionEventJson.Serialize(sessionEvent), NpgsqlDbType = NpgsqlDbType.Text });
                await enqueue.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        // No live owner: what a gone owner left queued comes first, then this event; the row's owner is cleared.
        var queued = await TakeQueueAsync(connection, transaction, sessionId, cancellationToken).ConfigureAwait(false);
        List<(SessionEvent, string)> numbered = [.. queued.Select(static e => (e, NobodyDelivered)), (sessionEvent, _instance)];
        long last = await StoreNumberedAsync(connection, transaction, sessionId, numbered, Math.Max(counter.Last, ClockFloor()), owner: null, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return last;
    }

    /// <inheritdoc />
    /// <remarks>Registers at once (the stream sees every notification from when the listening connection listens), reads when enumerated.</remarks>
    public IAsyncEnumerable<SessionEvent> FollowAllAsync(CancellationToken cancellationToken = default)
    {
        var stored = System.Threading.Channels.Channel.CreateUnbounded<(string SessionId, long Sequence)>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _allWatches.Add(stored);
        }

        return ReadAllAsync(stored, cancellationToken);
    }

    private async IAsyncEnumerable<SessionEvent> ReadAllAsync(
        Channel<(string SessionId, long Sequence)> stored, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            await EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                _listener ??= Task.Run(ListenLoopAsync, CancellationToken.None);
            }

            await foreach (var (sessionId, sequence) in stored.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                SessionEvent? sessionEvent = null;
                try
                {
                    var page = await ReadPageAsync(sessionId, sequence - 1, 1, cancellationToken).ConfigureAwait(false);
                    sessionEvent = page.Count == 1 && page[0].Sequence == sequence ? page[0] : null;
                }
                catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException && !cancellationToken.IsCancellationRequested)
                {
                    LogFollowRetried(ex, sessionId);
                }

                if (sessionEvent is not null)
                {
                    yield return sessionEvent;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _allWatches.Remove(stored);
            }
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
            var page = await ReadPageAsync(sessionId, afterSequence, ReadPage, cancellationToken).ConfigureAwait(false);
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
                        page = await ReadPageAsync(sessionId, afterSequence, ReadPage, cancellationToken).ConfigureAwait(false);
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

        lock (_gate)
        {
            foreach (var all in _allWatches)
            {
                all.Writer.TryComplete();   // ends the FollowAllAsync streams
            }
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

        // Session-level events (created, updated, deleted) are announced one by one too, for other instances' FollowAllAsync.
        var notified = sessions.Distinct(StringComparer.Ordinal).Select(id => id + " " + _instance)
            .Concat(events.Where(static e => e is SessionCreated or SessionUpdated or SessionDeleted)
                .Select(e => FormattableString.Invariant($"{e.SessionId} {_instance} {e.Sequence}")))
            .ToArray();
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
            // A session's numbering row once idle for the retention (its numbering then restarts above the clock), and what
            // was queued for an owner that never ended its turn (only without the PostgreSQL session lock).
            batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM agentcore_event_sequences WHERE owner IS NULL AND updated_at < now() - $1::interval")
            {
                Parameters = { new NpgsqlParameter { Value = _retention, NpgsqlDbType = NpgsqlDbType.Interval } },
            });
            batch.BatchCommands.Add(new NpgsqlBatchCommand("DELETE FROM agentcore_event_queue WHERE created_at < now() - $1::interval")
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

    /// <summary>Microseconds since 1970 now: numbering never starts below it, so it keeps increasing after rows are purged.</summary>
    private long ClockFloor() => _time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;

    /// <summary>
    /// Opens a transaction and locks the session's numbering row (creating it): the last number used (the row's, or a stored
    /// event's if greater), whether any was, the row's owner, and whether that owner's turn is still live; with
    /// <paramref name="takeQueue"/>, in the same round trip, takes the session's queued events (see <see cref="TakeQueueAsync"/>).
    /// </summary>
    private async Task<(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Counter Counter, List<SessionEvent> Queued)> LockCounterAsync(
        string sessionId, bool takeQueue, CancellationToken cancellationToken)
    {
        var connection = await _data.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            long key = PostgreSqlSessionLockProvider.LockKey(sessionId);
            var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    // An upsert that locks the row at once: with DO NOTHING, the purge could delete an idle row between the insert and
                    // the SELECT … FOR UPDATE, which would then find none.
                    new NpgsqlBatchCommand("INSERT INTO agentcore_event_sequences (session_id) VALUES ($1) ON CONFLICT (session_id) DO UPDATE SET session_id = excluded.session_id")
                    {
                        Parameters = { new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text } },
                    },
                    new NpgsqlBatchCommand("""
                        SELECT s.last, (SELECT max(sequence) FROM agentcore_events WHERE session_id = $1), s.owner,
                               s.owner IS NOT NULL AND (NOT $2 OR EXISTS (
                                   SELECT 1 FROM pg_locks
                                   WHERE locktype = 'advisory' AND granted AND objsubid = 1
                                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                                     AND classid::bigint = $3 AND objid::bigint = $4))
                        FROM agentcore_event_sequences AS s WHERE s.session_id = $1 FOR UPDATE
                        """)
                    {
                        Parameters =
                        {
                            new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text },
                            new NpgsqlParameter { Value = _sessionLockShared, NpgsqlDbType = NpgsqlDbType.Boolean },
                            new NpgsqlParameter { Value = (long)((ulong)key >> 32), NpgsqlDbType = NpgsqlDbType.Bigint },
                            new NpgsqlParameter { Value = key & 0xFFFF_FFFFL, NpgsqlDbType = NpgsqlDbType.Bigint },
                        },
                    },
                },
            };
            if (takeQueue)
            {
                batch.BatchCommands.Add(TakeQueueCommand(sessionId));
            }

            Counter counter;
            List<SessionEvent> queued = [];
            await using (batch.ConfigureAwait(false))
            {
                var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    long last = reader.GetInt64(0);
                    long? stored = reader.IsDBNull(1) ? null : reader.GetInt64(1);
                    counter = new Counter(
                        Math.Max(last, stored ?? 0), last > 0 || stored is not null, reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3));
                    if (takeQueue && await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
                    {
                        queued = await ReadQueueAsync(reader, sessionId, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            return (connection, transaction, counter, queued);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Takes (deletes) the events queued for the session, oldest first; in the caller's transaction.</summary>
    private async Task<List<SessionEvent>> TakeQueueAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sessionId, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { TakeQueueCommand(sessionId) } };
        await using var batchScope = batch.ConfigureAwait(false);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        return await ReadQueueAsync(reader, sessionId, cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlBatchCommand TakeQueueCommand(string sessionId) =>
        new("DELETE FROM agentcore_event_queue WHERE session_id = $1 RETURNING id, type, payload")
        {
            Parameters = { new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text } },
        };

    /// <summary>Reads the rows of <see cref="TakeQueueCommand"/>: the queued events, oldest first.</summary>
    private async Task<List<SessionEvent>> ReadQueueAsync(NpgsqlDataReader reader, string sessionId, CancellationToken cancellationToken)
    {
        var taken = new List<(long Id, string Type, string Payload)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            taken.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        var events = new List<SessionEvent>(taken.Count);
        foreach (var (id, type, payload) in taken.OrderBy(static t => t.Id))
        {
            try
            {
                events.Add(SessionEventJson.Deserialize(type, payload));
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException)
            {
                // Queued by a newer version: it cannot be delivered by this one, and is dropped with the queue.
                LogQueuedUnreadable(ex, sessionId, id);
            }
        }

        return events;
    }

    /// <summary>
    /// Numbers <paramref name="events"/> after <paramref name="after"/>, stores them, moves the session's numbering row to the
    /// last number and <paramref name="owner"/>, and announces each (with the instance that delivers it to its own
    /// subscribers, so that instance's <see cref="FollowAllAsync"/> skips it); in the caller's transaction. Returns the last number.
    /// </summary>
    private static async Task<long> StoreNumberedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sessionId, List<(SessionEvent Event, string DeliveredBy)> events,
        long after, string? owner, CancellationToken cancellationToken)
    {
        var sequences = new long[events.Count];
        var types = new string[events.Count];
        var payloads = new string[events.Count];
        var notified = new string[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            sequences[i] = after + i + 1;
            types[i] = SessionEventJson.TypeOf(events[i].Event);
            payloads[i] = SessionEventJson.Serialize(events[i].Event);
            notified[i] = FormattableString.Invariant($"{sessionId} {events[i].DeliveredBy} {sequences[i]}");
        }

        long last = after + events.Count;
        var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("""
                    INSERT INTO agentcore_events (session_id, sequence, type, payload)
                    SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[])
                    """)
                {
                    Parameters =
                    {
                        new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text },
                        new NpgsqlParameter { Value = sequences, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
                        new NpgsqlParameter { Value = types, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                        new NpgsqlParameter { Value = payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
                    },
                },
                new NpgsqlBatchCommand("UPDATE agentcore_event_sequences SET last = $2, owner = $3, updated_at = now() WHERE session_id = $1")
                {
                    Parameters =
                    {
                        new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text },
                        new NpgsqlParameter { Value = last, NpgsqlDbType = NpgsqlDbType.Bigint },
                        new NpgsqlParameter { Value = (object?)owner ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    },
                },
                // Delivered at commit, once the rows are readable.
                new NpgsqlBatchCommand($"SELECT pg_notify('{Channel}', n) FROM unnest($1::text[]) AS n")
                {
                    Parameters = { new NpgsqlParameter { Value = notified, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text } },
                },
            },
        };
        await using var batchScope = batch.ConfigureAwait(false);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return last;
    }

    private async Task<List<SessionEvent>> ReadPageAsync(string sessionId, long afterSequence, int limit, CancellationToken cancellationToken)
    {
        var command = _data.CreateCommand(
            "SELECT sequence, type, payload FROM agentcore_events WHERE session_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3");
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.Add(new NpgsqlParameter { Value = sessionId, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = afterSequence, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });
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

    /// <summary>
    /// A turn's batch announces <c>&lt;session&gt; &lt;instance&gt;</c>; an event numbered outside a turn's batch
    /// <c>&lt;session&gt; &lt;instance that delivered it to its own subscribers, or -&gt; &lt;sequence&gt;</c>.
    /// </summary>
    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        var parts = e.Payload.Split(' ');
        if (e.Channel != Channel || parts.Length is < 2 or > 3)
        {
            return;
        }

        bool own = parts[1] == _instance;
        if (parts.Length == 2 && own)
        {
            return;   // this instance's own turn: its hub has the events already
        }

        lock (_gate)
        {
            // Numbered outside a turn's batch: followers here read it even when this instance stored it (its hub leaves a followed session's to them).
            if (_watches.TryGetValue(parts[0], out var watch))
            {
                watch.Wake();
            }

            if (parts.Length == 3 && !own && long.TryParse(parts[2], System.Globalization.CultureInfo.InvariantCulture, out long sequence))
            {
                foreach (var all in _allWatches)
                {
                    all.Writer.TryWrite((parts[0], sequence));
                }
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

            var connection = await _data.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            // Already there (another instance created them): no DDL, whose IF NOT EXISTS still locks the tables against the
            // writes other instances are making, and could deadlock with them.
            var exists = new NpgsqlCommand("""
                SELECT to_regclass('agentcore_events_by_age') IS NOT NULL AND to_regclass('agentcore_event_sequences') IS NOT NULL
                   AND to_regclass('agentcore_event_queue_by_session') IS NOT NULL
                """, connection);
            await using (exists.ConfigureAwait(false))
            {
                if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true)
                {
                    _schemaReady = true;
                    return;
                }
            }

            // Its own tables, created on first use under a transaction-level advisory lock (instances starting together create them once).
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
                -- Per session: the last number used outside the turns' batches, and the instance whose turn numbers the session now.
                CREATE TABLE IF NOT EXISTS agentcore_event_sequences (
                    session_id text COLLATE "C" PRIMARY KEY,
                    last       bigint      NOT NULL DEFAULT 0,
                    owner      text,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                -- Events raised outside a turn while another instance's turn owns the numbering; that turn's end numbers them.
                CREATE TABLE IF NOT EXISTS agentcore_event_queue (
                    id         bigserial   PRIMARY KEY,
                    session_id text COLLATE "C" NOT NULL,
                    type       text        NOT NULL,
                    payload    text        NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX IF NOT EXISTS agentcore_event_queue_by_session ON agentcore_event_queue (session_id);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: dropped the queued event {QueueId}, which this version cannot read")]
    private partial void LogQueuedUnreadable(Exception exception, string sessionId, long queueId);

    /// <summary>A session's numbering row, locked: the last number used, whether any was, its owner, and whether the owner's turn is live.</summary>
    private readonly record struct Counter(long Last, bool Known, string? Owner, bool OwnerLive);

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
