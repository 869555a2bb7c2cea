using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace AgentCore;

/// <summary>
/// An AgentCore SQLite database file: its connections (pooled, with AgentCore's settings, retried while another process
/// holds the write lock) and its schema migrations, run once per instance in one write transaction.
/// </summary>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "The gates are SemaphoreSlims whose AvailableWaitHandle is never read (nothing to dispose); the writer connection is closed by ClearPool, which the store's Dispose calls.")]
internal sealed partial class SqliteDatabase
{
    /// <summary>The schema version this package writes.</summary>
    public const int SchemaVersion = 5;

    /// <summary>
    /// The schema, one script per version: script <c>i</c> takes the database from version <c>i</c> to <c>i + 1</c>.
    /// Never edit a released script; add the next one.
    /// </summary>
    public static readonly string[] Migrations =
    [
        // 1: sessions, messages and parts.
        StoreSchema.Version1(SqlDialect.Sqlite),

        // 2: messages and parts as columns. An index keeps its name when its table is renamed, so the schema 1 parts index
        // is dropped first. The store copies the renamed tables' rows (SqliteDatabase.CopySchema1MessagesAsync).
        """
        DROP INDEX parts_in_order;
        ALTER TABLE messages RENAME TO messages_v1;
        ALTER TABLE parts RENAME TO parts_v1;

        """ + StoreSchema.Version2(SqlDialect.Sqlite),

        // 3: filtered listings (SqliteSessionStore.ListSessionsAsync(SessionQuery)); the store fills session_metadata
        // (SqliteDatabase.CopyMetadataAsync).
        StoreSchema.Version3(SqlDialect.Sqlite),

        // 4: full-text search (SqliteSessionStore.SearchAsync): an FTS5 index of text parts and tool outputs, kept by triggers.
        SqliteSearch.Migration,

        // 5: the parts table's second index goes: a part write then changes two b-trees (the table and its primary key)
        // instead of three, a 4 KiB WAL page fewer per commit. Reads of a session's parts in order use the primary key
        // (session, message, id) and sort each message's few parts by position.
        "DROP INDEX IF EXISTS parts_in_order;",
    ];

    private static int s_initialized;

    // The SQLite connections (kept open by the pool) that already run with the settings OpenAsync gives them.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();

    private readonly SqliteStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _migrationGate = new(1, 1);
    private readonly SemaphoreSlim _writeGate;
    private readonly string _writerConnectionString;
    private volatile bool _migrated;
    private SqliteConnection? _writer;
    private bool _disposed;

    // The messages stamps (see MessagesStampAsync): this instance's id, how many writer connections it opened, and per
    // slot of session ids the number of this instance's last write to one of them (from _writes, so it only grows).
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly long[] _stamps = new long[StampSlots];
    private long _writes;
    private long _writerGeneration;

    // While the writer holds the file's write lock (from just after its BEGIN IMMEDIATE until just before its COMMIT or
    // ROLLBACK): its generation and the data version read after the BEGIN, current until the lock is released.
    private volatile LockedVersion? _locked;

    private const string DataVersionQuery = "PRAGMA data_version";

    private const int StampSlots = 4096;

    // The commands reused on a connection (see Reused); writes on one connection never run concurrently (the write gate).
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SqliteConnection, ReusedStatements> Statements = new();

    // One write at a time per database file in this process (every store instance on the file shares the gate).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> WriteGates =
        new(OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    /// <summary>Opens (on first use) the database file at the full path <paramref name="path"/>.</summary>
    public SqliteDatabase(string path, SqliteStoreOptions options, TimeProvider time, ILogger logger)
    {
        DatabasePath = path;
        _options = options;
        _time = time;
        _logger = logger;
        Rows = new StoredRowReader(logger);
        ConnectionString = ConnectionStringOf(path);
        _writerConnectionString = new SqliteConnectionStringBuilder(ConnectionString) { Pooling = false }.ToString();
        _writeGate = WriteGates.GetOrAdd(path, static _ => new SemaphoreSlim(1, 1));
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The connection string the database's connections are opened with.</summary>
    public string ConnectionString { get; }

    /// <summary>Reads rows back into records, with the store's logger.</summary>
    public StoredRowReader Rows { get; }

    /// <summary>
    /// Creates the database or brings its schema up to <see cref="SchemaVersion"/>; idempotent, and once per instance.
    /// </summary>
    public async ValueTask MigrateAsync(CancellationToken cancellationToken)
    {
        if (_migrated)
        {
            return;
        }

        await _migrationGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_migrated)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);

                // A migration is a write: it queues with the process's other writes to the file (see InTransactionAsync).
                await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await WithRetryAsync(MigrateCoreAsync, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _writeGate.Release();
                }

                _migrated = true;
            }
        }
        finally
        {
            _migrationGate.Release();
        }
    }

    /// <summary>Runs <paramref name="operation"/> on a connection of the migrated database (see <see cref="WithRetryAsync"/>).</summary>
    public async ValueTask<T> RunAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        return await WithRetryAsync(operation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A stamp of <paramref name="sessionId"/>'s messages: it changes whenever this instance writes them (see the
    /// <c>stamped</c> argument of <see cref="InTransactionAsync{T}"/>) and whenever any other connection — another store
    /// instance, another process — commits a write to the database file (<c>PRAGMA data_version</c> of the writer
    /// connection, which the writer's own commits leave unchanged).
    /// </summary>
    /// <remarks>
    /// <para>Conservative: another process's write to any session changes every session's stamp, as does a write by this
    /// instance to another session whose id shares its slot. It never repeats: the slot's number only grows, the data
    /// version only grows on one connection, and a new writer connection (whose data version starts again) has a new
    /// generation number; the instance id keeps apart the stamps of two store instances.</para>
    /// <para>While this instance's writer holds the file's write lock (a transaction running), the stamp is taken from the
    /// data version the transaction read after its <c>BEGIN IMMEDIATE</c>, which no other connection can change before the
    /// lock is released, without waiting for the transaction; otherwise it is read on the writer under the write gate.</para>
    /// </remarks>
    public async ValueTask<string> MessagesStampAsync(string sessionId, CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        if (_locked is { } locked)
        {
            // The same transaction held the lock before and after the slot was read: no commit came in between, and
            // the slot already counts every write committed before it (a batch's stamps change before the next begins).
            long during = Volatile.Read(ref _stamps[StampSlot(sessionId)]);
            if (ReferenceEquals(_locked, locked))
            {
                return Stamp(locked.Generation, locked.DataVersion, during);
            }
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long written = Volatile.Read(ref _stamps[StampSlot(sessionId)]);
            try
            {
                var connection = _writer ??= await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
                return Stamp(_writerGeneration, Prepared(connection, DataVersionQuery).QueryInt64(), written);
            }
            catch (SqliteException ex) when (Unusable(ex, DatabasePath) is { } unusable)
            {
                CloseWriter();
                throw unusable;
            }
            catch (SqliteException)
            {
                // Only a SQLite error leaves the connection in doubt; a cancelled read keeps it (and the writer generation).
                CloseWriter();
                throw;
            }
            finally
            {
                if (_disposed)
                {
                    CloseWriter();
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private string Stamp(long generation, long dataVersion, long written) =>
        string.Create(CultureInfo.InvariantCulture, $"{_instance}:{generation}:{dataVersion}:{written}");

    /// <summary>The slot of <paramref name="sessionId"/> among the stamps (ids with the same slot share their stamp).</summary>
    internal static int StampSlot(string sessionId) => (int)((uint)StringComparer.Ordinal.GetHashCode(sessionId) % StampSlots);

    /// <summary>Closes the writer connection and returns the database's pooled connections to the system.</summary>
    public void ClearPool()
    {
        _writeGate.Wait();
        try
        {
            _disposed = true;
            CloseWriter();
        }
        finally
        {
            _writeGate.Release();
        }

        using var connection = new SqliteConnection(ConnectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>Opens the writer connection: not pooled, with AgentCore's settings.</summary>
    private async Task<SqliteConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        EnsureInitialized();
        var connection = new SqliteConnection(_writerConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var command = connection.CreateCommand();
            // busy_timeout: SQLite waits up to a second for another process's write (blocking this thread), then the store
            // waits asynchronously and tries again, until its BusyTimeout. temp_store = MEMORY: the statement journals of
            // upserts with triggers stay in memory instead of temporary files.
            command.CommandText = "PRAGMA busy_timeout = 1000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _writerGeneration++; // Its data version starts again: a new generation of stamps.
            return connection;
        }
        catch (SqliteException ex) when (Unusable(ex, DatabasePath) is { } unusable)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw unusable;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private void CloseWriter()
    {
        _locked = null;
        if (_writer is { } writer)
        {
            ForgetStatements(writer);
            writer.Dispose();
        }

        _writer = null;
    }

    /// <summary>
    /// The command for <paramref name="sql"/> on <paramref name="connection"/>, prepared on first use and reused (SQLite
    /// compiles a statement, with its triggers, once per connection instead of once per write), with
    /// <paramref name="parameters"/> bound. The caller must not dispose it; inside <see cref="InTransactionAsync"/> it runs in
    /// the write transaction.
    /// </summary>
    public static SqliteCommand Reused(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var statements = StatementsOf(connection);
        if (!statements.Commands.TryGetValue(sql, out var command))
        {
            command = Command(connection, sql, parameters);
            statements.Commands.Add(sql, command);
        }
        else
        {
            foreach (var (name, value) in parameters)
            {
                command.Parameters[name].Value = value ?? DBNull.Value;
            }
        }

        command.Transaction = statements.Transaction;
        return command;
    }

    /// <summary>
    /// The statement for <paramref name="sql"/> on <paramref name="connection"/>, prepared on first use and reused (see
    /// <see cref="SqliteStatement"/>); the caller binds its parameters and runs it, and must not dispose it.
    /// </summary>
    public static SqliteStatement Prepared(SqliteConnection connection, string sql)
    {
        var statements = StatementsOf(connection);
        if (!statements.Prepared.TryGetValue(sql, out var statement))
        {
            statement = SqliteStatement.Prepare(connection, sql);
            statements.Prepared.Add(sql, statement);
        }

        return statement;
    }

    /// <summary>Disposes the reused commands of <paramref name="connection"/> (before it is closed or returned to the pool).</summary>
    public static void ForgetStatements(SqliteConnection connection)
    {
        if (Statements.TryGetValue(connection, out var statements))
        {
            foreach (var command in statements.Commands.Values)
            {
                command.Dispose();
            }

            foreach (var statement in statements.Prepared.Values)
            {
                statement.Dispose();
            }

            Statements.Remove(connection);
        }
    }

    private static ReusedStatements StatementsOf(SqliteConnection connection) => Statements.GetValue(connection, static _ => new ReusedStatements());

    /// <summary>
    /// Whether <paramref name="connection"/> last stored exactly <paramref name="header"/> as the fields of message
    /// <paramref name="messageId"/> of <paramref name="sessionId"/>, and no other connection wrote to the file since (see
    /// <see cref="CheckDataVersion"/>): the row already holds them. Call inside a write transaction.
    /// </summary>
    public static bool UnchangedHeader(SqliteConnection connection, string sessionId, string messageId, SqliteSessionStore.StoredHeader header) =>
        StatementsOf(connection).Headers.TryGetValue((sessionId, messageId), out var stored) && stored == header;

    /// <summary>
    /// Records that <paramref name="connection"/> wrote <paramref name="header"/> in its open write transaction; forgotten
    /// if the transaction or the write's savepoint is rolled back (see <see cref="ForgetHeaders"/>).
    /// </summary>
    public static void RememberHeader(SqliteConnection connection, string sessionId, string messageId, SqliteSessionStore.StoredHeader header)
    {
        RememberBounded(StatementsOf(connection).Headers, (sessionId, messageId), header);
    }

    /// <summary>
    /// The highest part position <paramref name="connection"/> knows stored for message <paramref name="messageId"/> of
    /// <paramref name="sessionId"/> (-1 for none), valid as the remembered fields are (see <see cref="UnchangedHeader"/>).
    /// </summary>
    public static bool TryLastPosition(SqliteConnection connection, string sessionId, string messageId, out long position) =>
        StatementsOf(connection).LastPositions.TryGetValue((sessionId, messageId), out position);

    /// <summary>Records the highest part position stored for a message in the open write transaction (see <see cref="TryLastPosition"/>).</summary>
    public static void RememberLastPosition(SqliteConnection connection, string sessionId, string messageId, long position)
    {
        RememberBounded(StatementsOf(connection).LastPositions, (sessionId, messageId), position);
    }

    /// <summary>Sets <paramref name="key"/> in <paramref name="map"/>, which holds at most <see cref="RememberedHeaders"/> messages.</summary>
    private static void RememberBounded<T>(Dictionary<(string SessionId, string MessageId), T> map, (string SessionId, string MessageId) key, T value)
    {
        if (map.Count >= RememberedHeaders && !map.ContainsKey(key))
        {
            map.Clear(); // Bounded: the messages being written now are the ones written again soon.
        }

        map[key] = value;
    }

    /// <summary>
    /// Forgets every message's fields and last part position <paramref name="connection"/> remembered: after a rollback,
    /// and in a write that deletes messages (a deleted message's fields must be written again).
    /// </summary>
    public static void ForgetHeaders(SqliteConnection connection)
    {
        var statements = StatementsOf(connection);
        statements.Headers.Clear();
        statements.LastPositions.Clear();
    }

    /// <summary>
    /// At the start of a write transaction on the writer: forgets the remembered message fields when another connection
    /// (another store instance, another process) committed to the file since the last check. <c>PRAGMA data_version</c>
    /// changes with every other connection's commit, never with the writer's own; the write lock, held now, keeps it so
    /// until the transaction ends.
    /// </summary>
    /// <returns>The writer's data version now.</returns>
    private static long CheckDataVersion(SqliteConnection connection)
    {
        var statements = StatementsOf(connection);
        long version = Prepared(connection, DataVersionQuery).QueryInt64();
        if (version != statements.DataVersion)
        {
            ForgetHeaders(connection);
            statements.DataVersion = version;
        }

        return version;
    }

    /// <summary>A writer generation and the data version of its connection while it holds the write lock (see <see cref="MessagesStampAsync"/>).</summary>
    private sealed record LockedVersion(long Generation, long DataVersion);

    // How many messages' fields a writer remembers (see RememberHeader).
    private const int RememberedHeaders = 1024;

    /// <summary>
    /// A connection's reused commands and statements, the transaction the migration's commands run in, and the message fields
    /// and last part positions it stored (see <see cref="UnchangedHeader"/>) with the data version they are valid for.
    /// </summary>
    private sealed class ReusedStatements
    {
        public Dictionary<string, SqliteCommand> Commands { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, SqliteStatement> Prepared { get; } = new(StringComparer.Ordinal);

        public SqliteTransaction? Transaction { get; set; }

        public Dictionary<(string SessionId, string MessageId), SqliteSessionStore.StoredHeader> Headers { get; } = [];

        public Dictionary<(string SessionId, string MessageId), long> LastPositions { get; } = [];

        public long DataVersion { get; set; } = -1;
    }

    /// <summary>A command on <paramref name="connection"/> with named parameters (null as <c>NULL</c>).</summary>
    public static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    /// <summary>The connection string of the database file at <paramref name="path"/>.</summary>
    private static string ConnectionStringOf(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        // Microsoft.Data.Sqlite's own busy retry (blocking, in whole seconds): one second per attempt; the store's
        // retry loop waits asynchronously between attempts until its BusyTimeout.
        DefaultTimeout = 1,
    }.ToString();

    /// <summary>Opens a connection with AgentCore's per-connection settings.</summary>
    private static async Task<SqliteConnection> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        EnsureInitialized();
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            if (Configured.TryGetValue(connection.Handle!, out _))
            {
                return connection; // A pooled connection keeps its settings: set them once per SQLite connection.
            }

            using var command = connection.CreateCommand();
            // busy_timeout: SQLite itself waits up to a second for another writer before reporting SQLITE_BUSY (the store
            // then retries until its BusyTimeout); synchronous=NORMAL is safe in WAL mode and much faster than FULL.
            command.CommandText = "PRAGMA busy_timeout = 1000; PRAGMA synchronous = NORMAL;";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            Configured.AddOrUpdate(connection.Handle!, Configured);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The error to throw in place of <paramref name="exception"/> when it means the database file itself is unusable —
    /// not a database, corrupt, cannot be opened, read-only, or on a full disk — naming the file and the way out; null
    /// for other errors (which are rethrown as they are).
    /// </summary>
    private static AgentCoreException? Unusable(SqliteException exception, string path)
    {
        string? problem = (exception.SqliteErrorCode & 0xFF) switch
        {
            26 => "is not an SQLite database (SQLITE_NOTADB)",
            11 => "is corrupt (SQLITE_CORRUPT)",
            14 => "cannot be opened (SQLITE_CANTOPEN): check that its folder exists and may be written",
            8 => "may not be written (SQLITE_READONLY): the file or its folder is read-only",
            13 => "cannot grow: the disk is full (SQLITE_FULL); nothing committed before was changed",
            10 => "could not be read or written (SQLITE_IOERR)",
            _ => null,
        };
        if (problem is null)
        {
            return null;
        }

        string wayOut = (exception.SqliteErrorCode & 0xFF) is 26 or 11
            ? " Move the file aside (with its -wal and -shm files) and restore a backup, or point UseSqlite at another path; AgentCore creates a new database where none exists."
            : " Fix the disk or permissions, or point UseSqlite at another path.";
        return new AgentCoreException($"The SQLite database '{path}' {problem}.{wayOut}", exception);
    }

    /// <summary>Whether <paramref name="exception"/> means another connection holds a lock (<c>SQLITE_BUSY</c> or <c>SQLITE_LOCKED</c>).</summary>
    private static bool IsBusy(SqliteException exception) => exception.SqliteErrorCode is 5 or 6;

    /// <summary>Runs <paramref name="operation"/> on a new connection, again while the database is busy, until the busy timeout.</summary>
    private async ValueTask<T> WithRetryAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(5);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await OpenAsync(ConnectionString, cancellationToken).ConfigureAwait(false);
                await using var connectionScope = connection.ConfigureAwait(false);
                return await operation(connection, cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex) when (IsBusy(ex) && _time.GetElapsedTime(started) < _options.BusyTimeout)
            {
                LogBusy(DatabasePath, attempt);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(200).Ticks));
            }
            catch (SqliteException ex) when (Unusable(ex, DatabasePath) is { } unusable)
            {
                throw unusable;
            }
        }
    }

    /// <summary>
    /// Runs the scripts of <see cref="Migrations"/> the database lacks and their data steps, in one write transaction.
    /// A new version: add its script to <see cref="Migrations"/>, raise <see cref="SchemaVersion"/>, and add its data step
    /// (if any) below.
    /// </summary>
    private async Task<bool> MigrateCoreAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using (var wal = Command(connection, "PRAGMA journal_mode = WAL"))
        {
            await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        StatementsOf(connection).Transaction = transaction;
        try
        {
            return await MigrateInTransactionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ForgetStatements(connection); // The connection goes back to the pool: keep no statement of the migration.
        }
    }

    private async Task<bool> MigrateInTransactionAsync(SqliteConnection connection, SqliteTransaction transaction, CancellationToken cancellationToken)
    {
        using var read = Command(connection, "PRAGMA user_version");
        int version = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The database '{DatabasePath}' has schema version {version}, newer than the {SchemaVersion} this version of AgentCore.Sqlite knows. Upgrade the package.");
        }

        for (int next = version + 1; next <= SchemaVersion; next++)
        {
            using (var migrate = Command(connection, Migrations[next - 1]))
            {
                await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            if (next == 2)
            {
                await CopySchema1MessagesAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            if (next == 3)
            {
                await CopyMetadataAsync(connection, cancellationToken).ConfigureAwait(false);
            }

            LogMigrated(DatabasePath, next);
        }

        using (var write = Command(connection, $"PRAGMA user_version = {SchemaVersion}"))
        {
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        transaction.Commit();
        return true;
    }

    /// <summary>
    /// Schema 2's data step: copies every message of schema 1's tables (<c>messages_v1</c>, <c>parts_v1</c>: JSON), read
    /// as schema 1 was read, into the new tables, one session at a time, then drops the old tables. Corrupt rows are
    /// skipped with a warning, as reading them did.
    /// </summary>
    private async Task CopySchema1MessagesAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var sessionIds = new List<string>();
        using (var command = Command(connection, "SELECT DISTINCT session_id FROM messages_v1"))
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sessionIds.Add(reader.GetString(0));
            }
        }

        foreach (string sessionId in sessionIds)
        {
            var copy = Rows.Schema1(sessionId);
            using (var command = Command(connection, "SELECT id, data FROM messages_v1 WHERE session_id = $id ORDER BY id", ("$id", sessionId)))
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await copy.AddMessagesAsync(reader, cancellationToken).ConfigureAwait(false);
            }

            using (var command = Command(connection, "SELECT message_id, id, data, text FROM parts_v1 WHERE session_id = $id ORDER BY message_id, position, id", ("$id", sessionId)))
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                await copy.AddPartsAsync(reader, cancellationToken).ConfigureAwait(false);
            }

            foreach (var message in copy.Messages)
            {
                cancellationToken.ThrowIfCancellationRequested();
                SqliteSessionStore.WriteMessage(connection, message, SqliteSessionStore.PartRows(message));
            }
        }

        using var drop = Command(connection, "DROP TABLE messages_v1; DROP TABLE parts_v1;");
        await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Schema 3's data step: writes the metadata rows of every stored session, read from its JSON as a read would (a
    /// corrupt session is skipped with a warning, and stays unlisted as before).
    /// </summary>
    private async Task CopyMetadataAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        List<SessionInfo> sessions;
        using (var command = Command(connection, "SELECT id, data FROM sessions"))
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            sessions = await Rows.SessionsWithMetadataAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        foreach (var session in sessions)
        {
            await SqliteSessionStore.ReplaceMetadataAsync(connection, session, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Migrated SQLite database {Path} to schema version {Version}")]
    private partial void LogMigrated(string path, int version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SQLite database {Path} is busy; retrying (attempt {Attempt})")]
    private partial void LogBusy(string path, int attempt);

    private static void EnsureInitialized()
    {
        if (Interlocked.Exchange(ref s_initialized, 1) == 0)
        {
            SQLitePCL.Batteries_V2.Init();
        }
    }
}
