using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>The database's writes: queued, and committed together (group commit).</summary>
internal sealed partial class SqliteDatabase
{
    private const string Savepoint = "SAVEPOINT agentcore_write";
    private const string ReleaseSavepoint = "RELEASE agentcore_write";
    private const string RollbackToSavepoint = "ROLLBACK TO agentcore_write";
    private const string BeginImmediate = "BEGIN IMMEDIATE";
    private const string CommitTransaction = "COMMIT";
    private const string RollbackTransaction = "ROLLBACK";

    // The writes waiting for the writer, and whether a drain (DrainAsync) is running to take them.
    private readonly Lock _queueLock = new();
    private List<QueuedWrite> _queue = [];
    private bool _draining;

    /// <summary>
    /// Runs <paramref name="operation"/> in a write transaction, taken up front (<c>BEGIN IMMEDIATE</c>), on this instance's
    /// writer connection, one transaction at a time per database file in the process; the returned task completes once
    /// the transaction that holds the writes has committed.
    /// </summary>
    /// <remarks>
    /// <para>Group commit: writes queue on the instance; the first writer to find nobody draining the queue drains it.
    /// A write that finds the queue empty runs at once, alone, in its own transaction (no extra latency). Writes that
    /// queued while a transaction ran go into the next one together, each inside its own <c>SAVEPOINT</c>: one that fails
    /// is rolled back alone and only its caller sees the exception; the others commit. Every caller's task completes after
    /// the <c>COMMIT</c> that holds its writes, so nothing is acknowledged before it is durable. When the transaction itself
    /// fails (its commit, a lost write lock, an unusable file), each of its writes is run again alone, within the group's
    /// busy timeout, so each caller sees its own outcome; when another process held the lock for the whole busy timeout,
    /// nothing ran and every write of the group fails with that <c>SQLITE_BUSY</c> error.</para>
    /// <para>Writers in one process never meet each other's write lock: they queue on the file's gate (asynchronously), so
    /// <c>SQLITE_BUSY</c> can only come from another process: SQLite's busy handler waits up to a second for it, then the
    /// transaction is tried again (waiting asynchronously between tries) until <see cref="SqliteStoreOptions.BusyTimeout"/>.
    /// The writer connection stays open between writes (no pool lookup or per-open settings per write); a SQLite error
    /// (or a transaction left open) closes it, and the next write opens another; an exception of
    /// <paramref name="operation"/> itself only rolls back.</para>
    /// <para>Cancellation: a write cancelled before its transaction starts (or between two tries while another process
    /// holds the lock) is dropped and its caller sees an <see cref="OperationCanceledException"/>; once its transaction
    /// runs, it completes (<paramref name="operation"/> gets <see cref="CancellationToken.None"/>).</para>
    /// </remarks>
    /// <param name="operation">The writes; it may run more than once (on retries), so it takes its values up front.</param>
    /// <param name="cancellationToken">Cancels the write while it waits.</param>
    /// <param name="stamped">
    /// The session whose messages the writes change, or null: its messages stamp (<see cref="MessagesStampAsync"/>) changes
    /// after the transaction ends and before the write gate is released, whether the transaction committed or failed.
    /// </param>
    public async ValueTask<T> InTransactionAsync<T>(
        Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken, string? stamped = null)
    {
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        var write = new QueuedWrite<T>(operation, stamped, cancellationToken);
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((QueuedWrite)state!).CancelIfWaiting(), write)
            : default;
        bool drain;
        lock (_queueLock)
        {
            _queue.Add(write);
            drain = !_draining;
            _draining = true;
        }

        if (drain)
        {
            // Runs here until its first wait; a write that finds the queue empty is committed before this returns. The
            // drain completes every write it takes and never throws. It does not carry this caller's execution context
            // (its Activity, logging scopes) on to the other callers' writes it runs after its first wait.
            using (ExecutionContext.SuppressFlow())
            {
                _ = DrainAsync();
            }
        }

        return await write.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Takes the queued writes and commits them, a transaction per batch, until the queue is empty. After the first
    /// batch it goes on on the thread pool, so the writer that started it gets its own result back.
    /// </summary>
    private async Task DrainAsync()
    {
        for (bool first = true; ; first = false)
        {
            if (!first)
            {
                // Let the writers of the batch just committed go on (and queue their next writes) while this drain moves
                // off the thread of the writer that started it.
                await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
            }

            List<QueuedWrite> batch;
            lock (_queueLock)
            {
                if (_queue.Count == 0)
                {
                    _draining = false;
                    return;
                }

                batch = _queue;
                _queue = [];
            }

            try
            {
                await CommitBatchAsync(batch).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Not expected (every write's own failure is kept on the write); never leave a caller waiting.
                foreach (var write in batch)
                {
                    write.Fail(ex);
                }
            }

            foreach (var write in batch)
            {
                write.Complete();
            }
        }
    }

    /// <summary>Commits a batch of writes under the file's write gate; each write keeps its outcome.</summary>
    private async Task CommitBatchAsync(List<QueuedWrite> batch)
    {
        // The gate first: a write cancelled while the batch waits for it (another instance on the file writing) is dropped.
        await _writeGate.WaitAsync().ConfigureAwait(false);
        var started = new List<QueuedWrite>(batch.Count);
        try
        {
            foreach (var write in batch)
            {
                if (write.TryStart())
                {
                    started.Add(write);
                }
            }

            if (started.Count == 0)
            {
                return;
            }

            if (started.Count == 1)
            {
                await CommitAloneAsync(started[0], _time.GetTimestamp()).ConfigureAwait(false);
            }
            else
            {
                await CommitTogetherAsync(started).ConfigureAwait(false);
            }
        }
        finally
        {
            // The stamps change before the gate is released and before any caller sees its write done.
            foreach (var write in started)
            {
                if (write.Stamped is { } sessionId)
                {
                    Volatile.Write(ref _stamps[StampSlot(sessionId)], Interlocked.Increment(ref _writes));
                }
            }

            try
            {
                if (_disposed)
                {
                    CloseWriter(); // Written after the store was disposed: keep nothing open.
                }
            }
            finally
            {
                _writeGate.Release();
            }
        }
    }

    /// <summary>
    /// Commits one write in its own transaction (no savepoint), tried again while another process holds the lock, until
    /// <see cref="SqliteStoreOptions.BusyTimeout"/> after <paramref name="started"/> (a timestamp of the time provider).
    /// </summary>
    private async Task CommitAloneAsync(QueuedWrite write, long started)
    {
        try
        {
            await CommitWithRetriesAsync([write], started, write.RunAsync).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (Unusable(ex, DatabasePath) is { } unusable)
        {
            CloseWriter();
            write.Fail(unusable);
        }
        catch (Exception ex)
        {
            CloseWriterAfter(ex);
            write.Fail(ex);
        }
    }

    /// <summary>
    /// Commits several writes in one transaction, each in a savepoint: a write that fails is rolled back alone. When the
    /// transaction itself fails, each write is committed again alone (see <see cref="CommitAloneAsync"/>).
    /// </summary>
    private async Task CommitTogetherAsync(List<QueuedWrite> writes)
    {
        long started = _time.GetTimestamp();
        try
        {
            await CommitWithRetriesAsync(writes, started, connection => RunInSavepointsAsync(connection, writes)).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (IsBusy(ex))
        {
            // Another process held the lock for the whole busy timeout: nothing ran, and trying each write alone would
            // only wait again. Every write of the group fails with it.
            foreach (var write in writes)
            {
                write.Reset();
                write.Fail(ex);
            }
        }
        catch (Exception ex)
        {
            // The transaction failed as a whole (rolled back): give each write its own outcome, alone, within what is
            // left of the group's busy timeout.
            LogGroupFailed(DatabasePath, writes.Count, ex);
            CloseWriterAfter(ex);
            foreach (var write in writes)
            {
                write.Reset();
                await CommitAloneAsync(write, started).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs each write in a savepoint of the open transaction; a write whose failure leaves the transaction usable is rolled back alone.</summary>
    private async Task RunInSavepointsAsync(SqliteConnection connection, List<QueuedWrite> writes)
    {
        var savepoint = Prepared(connection, Savepoint);
        var release = Prepared(connection, ReleaseSavepoint);
        var rollback = Prepared(connection, RollbackToSavepoint);
        foreach (var write in writes)
        {
            savepoint.Execute();
            try
            {
                await write.RunAsync(connection).ConfigureAwait(false);
            }
            catch (Exception ex) when (!FailsTheTransaction(ex, connection))
            {
                rollback.Execute();
                ForgetHeaders(connection);
                write.Fail(ex);
            }

            release.Execute();
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> in a write transaction on the writer connection and commits it, marking
    /// <paramref name="writes"/> committed; while another process holds the lock, rolls back, waits and tries again until
    /// <see cref="SqliteStoreOptions.BusyTimeout"/> after <paramref name="started"/>, dropping the writes cancelled
    /// meanwhile (it returns when none is left). Any other failure, and a busy one past the deadline, propagates with
    /// the transaction rolled back.
    /// </summary>
    private async Task CommitWithRetriesAsync(List<QueuedWrite> writes, long started, Func<SqliteConnection, Task> body)
    {
        var delay = TimeSpan.FromMilliseconds(5);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var connection = _writer ??= await OpenWriterAsync(CancellationToken.None).ConfigureAwait(false);

                // BEGIN and COMMIT as statements prepared once on the writer (not a SqliteTransaction, which compiles and
                // runs each through a command and a data reader per transaction); the operations' commands run with no
                // SqliteTransaction, which SQLite does not need.
                Prepared(connection, BeginImmediate).Execute();
                try
                {
                    _locked = new LockedVersion(_writerGeneration, CheckDataVersion(connection));
                    await body(connection).ConfigureAwait(false);
                    _locked = null; // The lock is released by the COMMIT: stamps read from here on wait for the gate.
                    Prepared(connection, CommitTransaction).Execute();
                }
                catch
                {
                    _locked = null;
                    ForgetHeaders(connection);
                    RollBackIfOpen(connection);
                    throw;
                }

                foreach (var write in writes)
                {
                    write.MarkCommitted();
                }

                return;
            }
            catch (SqliteException ex) when (IsBusy(ex) && _time.GetElapsedTime(started) < _options.BusyTimeout)
            {
                // Only another process holds the lock (SQLite waited busy_timeout for it, or could not wait): try again.
                LogBusy(DatabasePath, attempt);
                foreach (var write in writes)
                {
                    write.Reset();
                }

                if (!await WaitToRetryAsync(delay, writes).ConfigureAwait(false))
                {
                    return;
                }

                delay = NextDelay(delay);
            }
        }
    }

    /// <summary>
    /// Rolls back the transaction still open on <paramref name="connection"/> after a failure (SQLite may have rolled it
    /// back already). A failed rollback closes the writer connection, which ends the transaction.
    /// </summary>
    private void RollBackIfOpen(SqliteConnection connection)
    {
        if (SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0)
        {
            return;
        }

        try
        {
            Prepared(connection, RollbackTransaction).Execute();
        }
        catch (SqliteException ex)
        {
            // The transaction may still be open, holding the file's write lock: the writer is closed here (a retry
            // after a busy failure opens a new one) rather than left to fail its next BEGIN.
            LogRollbackFailed(DatabasePath, ex);
            if (ReferenceEquals(connection, _writer))
            {
                CloseWriter();
            }
        }
    }

    /// <summary>
    /// Whether a write's <paramref name="exception"/> fails its whole transaction: another process's lock, an unusable
    /// file, or a transaction SQLite already rolled back; otherwise only the write's savepoint is rolled back.
    /// </summary>
    private bool FailsTheTransaction(Exception exception, SqliteConnection connection) =>
        exception is SqliteException sqlite && (IsBusy(sqlite) || Unusable(sqlite, DatabasePath) is not null)
        || SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) != 0;

    /// <summary>
    /// Waits <paramref name="delay"/> before another try, dropping the writes cancelled meanwhile (their callers see the
    /// cancellation; nothing of theirs was stored); false when none is left.
    /// </summary>
    private async Task<bool> WaitToRetryAsync(TimeSpan delay, List<QueuedWrite> writes)
    {
        await Task.Delay(delay, _time).ConfigureAwait(false);
        writes.RemoveAll(static write => write.CancelIfRequested());
        return writes.Count > 0;
    }

    /// <summary>
    /// Closes the writer connection after a failed write when its state is not known: a SQLite error, or a transaction
    /// still open. Another failure (an update function's exception) leaves it open, its transaction rolled back, so the
    /// writer generation, and with it every session's messages stamp, stays.
    /// </summary>
    private void CloseWriterAfter(Exception exception)
    {
        if (exception is SqliteException || _writer is { } writer && SQLitePCL.raw.sqlite3_get_autocommit(writer.Handle) == 0)
        {
            CloseWriter();
        }
    }

    private static TimeSpan NextDelay(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(200).Ticks));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rolling back a failed write transaction on SQLite database {Path} failed; the writer connection will be closed")]
    private partial void LogRollbackFailed(string path, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A group commit of {Count} writes to SQLite database {Path} failed; committing them one at a time")]
    private partial void LogGroupFailed(string path, int count, Exception exception);

    /// <summary>A write waiting for the writer: its operation, its outcome once run, and its caller's task.</summary>
    private abstract class QueuedWrite(string? stamped, CancellationToken cancellationToken)
    {
        private const int Waiting = 0, Started = 1, Cancelled = 2;

        private int _state;
        private Exception? _error;
        private bool _committed;

        /// <summary>The session whose messages stamp the write changes, or null.</summary>
        public string? Stamped { get; } = stamped;

        /// <summary>Marks the write as taken into a transaction; false when its caller cancelled it first.</summary>
        public bool TryStart() => Interlocked.CompareExchange(ref _state, Started, Waiting) == Waiting;

        /// <summary>Cancels the write if no transaction took it yet (its token's callback).</summary>
        public void CancelIfWaiting()
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Waiting) == Waiting)
            {
                SetCanceled(cancellationToken);
            }
        }

        /// <summary>Between two tries: cancels the write, rolled back and not yet tried again, if its caller asked to.</summary>
        public bool CancelIfRequested()
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }

            _state = Cancelled;
            SetCanceled(cancellationToken);
            return true;
        }

        /// <summary>Runs the operation in the open transaction, keeping its result.</summary>
        public abstract Task RunAsync(SqliteConnection connection);

        /// <summary>Records that the transaction holding the write committed: nothing can fail it any more.</summary>
        public void MarkCommitted() => _committed = true;

        /// <summary>
        /// Records the write's failure (its caller sees <paramref name="exception"/>), unless it is committed: a caller told
        /// that a stored write failed would write it again (appending its text twice).
        /// </summary>
        public void Fail(Exception exception)
        {
            if (!_committed)
            {
                _error ??= exception;
            }
        }

        /// <summary>Forgets the outcome of a try whose transaction was rolled back.</summary>
        public void Reset()
        {
            _error = null;
            ResetResult();
        }

        /// <summary>Completes the caller's task with the outcome, once the transaction has ended.</summary>
        public void Complete()
        {
            if (Volatile.Read(ref _state) != Started)
            {
                return; // Cancelled: already completed.
            }

            if (_error is { } error)
            {
                SetException(error);
            }
            else
            {
                SetResult();
            }
        }

        protected abstract void ResetResult();

        protected abstract void SetResult();

        protected abstract void SetException(Exception exception);

        protected abstract void SetCanceled(CancellationToken cancellationToken);
    }

    /// <inheritdoc cref="QueuedWrite"/>
    private sealed class QueuedWrite<T>(
        Func<SqliteConnection, CancellationToken, Task<T>> operation, string? stamped, CancellationToken cancellationToken)
        : QueuedWrite(stamped, cancellationToken)
    {
        // Continuations run on the thread pool: the drain completes a batch's writes without running their callers.
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _completion.Task;

        public override async Task RunAsync(SqliteConnection connection) =>
            _result = await operation(connection, CancellationToken.None).ConfigureAwait(false);

        protected override void ResetResult() => _result = default!;

        protected override void SetResult() => _completion.TrySetResult(_result);

        protected override void SetException(Exception exception) => _completion.TrySetException(exception);

        protected override void SetCanceled(CancellationToken cancellationToken) => _completion.TrySetCanceled(cancellationToken);
    }
}
