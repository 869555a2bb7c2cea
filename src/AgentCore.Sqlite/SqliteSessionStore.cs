using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentCore;

/// <summary>
/// An <see cref="ISessionStore"/> in one SQLite database file: an embedded database for a single app, safe for
/// many threads and several processes on the same file.
/// </summary>
/// <remarks>
/// <para>The database runs in WAL mode with <c>synchronous=NORMAL</c>: readers never block the writer, and a commit
/// survives a crash of the process (a power loss may lose the last commits, never corrupt the file). Each operation
/// opens a pooled connection; a write that meets another process's write lock (<c>SQLITE_BUSY</c>) waits in SQLite's
/// busy handler and is then retried until <see cref="SqliteStoreOptions.BusyTimeout"/>.</para>
/// <para>The schema is versioned in the database (<c>PRAGMA user_version</c>) and migrated on first use, in one write
/// transaction, so processes starting together migrate once. Tables: <c>sessions</c> (the session as JSON, with
/// indexed creation time and the token and cost totals as columns), <c>messages</c> (a message's own fields) and
/// <c>parts</c> (one row a part; streamed text in its own column, so an append updates one part's row, not the message).</para>
/// <para>A corrupt row is skipped with a warning. Times round-trip exactly.</para>
/// </remarks>
public sealed partial class SqliteSessionStore : ISessionStore, IDisposable
{
    /// <summary>The schema version this package writes.</summary>
    public const int SchemaVersion = 1;

    private readonly string _connectionString;
    private readonly SqliteStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _migrationGate = new(1, 1);
    private volatile bool _migrated;

    /// <summary>Creates a store in the database file <paramref name="path"/> (created, with its folder, when first used).</summary>
    public SqliteSessionStore(string path, ILogger<SqliteSessionStore>? logger = null, TimeProvider? timeProvider = null)
        : this(path, new SqliteStoreOptions(), logger, timeProvider)
    {
    }

    /// <summary>Creates a store in the database file <paramref name="path"/> with <paramref name="options"/>.</summary>
    public SqliteSessionStore(string path, SqliteStoreOptions options, ILogger<SqliteSessionStore>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        DatabasePath = Path.GetFullPath(path);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<SqliteSessionStore>.Instance;
        _connectionString = SqliteDatabase.ConnectionString(DatabasePath);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>
    /// Creates the database or brings its schema up to <see cref="SchemaVersion"/>. Idempotent; every other method
    /// calls it first, so calling it is only needed to migrate at start-up.
    /// </summary>
    /// <exception cref="InvalidOperationException">The database was written by a newer version of this package.</exception>
    public async ValueTask MigrateAsync(CancellationToken cancellationToken = default)
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
                await WithRetryAsync(MigrateCoreAsync, cancellationToken).ConfigureAwait(false);
                _migrated = true;
            }
        }
        finally
        {
            _migrationGate.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        string? json = await RunAsync(async (connection, ct) =>
        {
            using var command = Command(connection, "SELECT data FROM sessions WHERE id = $id", ("$id", sessionId));
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }, cancellationToken).ConfigureAwait(false);
        return json is null ? null : ReadSession(sessionId, json);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var rows = await RunAsync(async (connection, ct) =>
        {
            using var command = Command(connection, "SELECT id, data FROM sessions ORDER BY created_at DESC, id DESC");
            using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var list = new List<(string Id, string Data)>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                list.Add((reader.GetString(0), reader.GetString(1)));
            }

            return list;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var (id, data) in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ReadSession(id, data) is { } session)
            {
                yield return session;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        Identifier.Validate(session.Id, IdKind.Session, nameof(session));
        if (session.ParentId is not null)
        {
            Identifier.Validate(session.ParentId, IdKind.Session, nameof(session));
        }

        string json = StoredRecords.SerializeSession(session);
        await RunAsync(async (connection, ct) =>
        {
            using var command = Command(connection, """
                INSERT INTO sessions (id, parent_id, created_at, updated_at, input_tokens, output_tokens, reasoning_tokens,
                                      cache_read_tokens, cache_write_tokens, cost, data)
                VALUES ($id, $parent, $created, $updated, $input, $output, $reasoning, $cacheRead, $cacheWrite, $cost, $data)
                ON CONFLICT (id) DO UPDATE SET
                    parent_id = excluded.parent_id, created_at = excluded.created_at, updated_at = excluded.updated_at,
                    input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
                    reasoning_tokens = excluded.reasoning_tokens, cache_read_tokens = excluded.cache_read_tokens,
                    cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost, data = excluded.data
                """,
                ("$id", session.Id), ("$parent", session.ParentId), ("$created", session.CreatedAt.UtcTicks),
                ("$updated", session.UpdatedAt.UtcTicks), ("$input", session.Tokens.Input), ("$output", session.Tokens.Output),
                ("$reasoning", session.Tokens.Reasoning), ("$cacheRead", session.Tokens.CacheRead),
                ("$cacheWrite", session.Tokens.CacheWrite), ("$cost", StoredRecords.FormatDecimal(session.Cost)), ("$data", json));
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return InTransactionAsync(async (connection, ct) =>
        {
            int deleted = 0;
            foreach (string sql in new[]
            {
                "DELETE FROM parts WHERE session_id = $id",
                "DELETE FROM messages WHERE session_id = $id",
                "DELETE FROM sessions WHERE id = $id",
            })
            {
                using var command = Command(connection, sql, ("$id", sessionId));
                deleted += await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            return deleted > 0;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        return await RunAsync(async (connection, ct) =>
        {
            // One read transaction, so the messages and their parts come from the same snapshot.
            using var transaction = connection.BeginTransaction(deferred: true);
            var messages = new List<SessionMessage>();
            var byId = new Dictionary<string, SessionMessage>(StringComparer.Ordinal);
            using (var command = Command(connection, "SELECT id, data FROM messages WHERE session_id = $id ORDER BY id", ("$id", sessionId)))
            using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    string id = reader.GetString(0);
                    if (ReadHeader(sessionId, id, reader.GetString(1)) is { } message)
                    {
                        messages.Add(message);
                        byId[id] = message;
                    }
                }
            }

            using (var command = Command(connection, """
                SELECT message_id, id, data, text FROM parts WHERE session_id = $id ORDER BY message_id, position, id
                """, ("$id", sessionId)))
            using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    if (!byId.TryGetValue(reader.GetString(0), out var message))
                    {
                        continue; // The message row is corrupt (already reported) or gone.
                    }

                    byte[]? text = reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3);
                    if (ReadPart(sessionId, reader.GetString(0), reader.GetString(1), reader.GetString(2), text) is { } part)
                    {
                        message.Parts.Add(part);
                    }
                }
            }

            transaction.Commit();
            return (IReadOnlyList<SessionMessage>)messages;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        ValidateMessage(message);
        string header = StoredRecords.SerializeHeader(message);
        var parts = message.Parts.Select(static p => StoredRecords.SplitPart(p)).ToList();
        var partIds = message.Parts.Select(static p => p.Id).ToList();
        await InTransactionAsync(async (connection, ct) =>
        {
            await UpsertHeaderAsync(connection, message, header, ct).ConfigureAwait(false);
            using (var delete = Command(connection, "DELETE FROM parts WHERE session_id = $session AND message_id = $message",
                       ("$session", message.SessionId), ("$message", message.Id)))
            {
                await delete.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            using var insert = Command(connection, """
                INSERT INTO parts (session_id, message_id, id, position, data, text) VALUES ($session, $message, $id, $position, $data, $text)
                ON CONFLICT (session_id, message_id, id) DO UPDATE SET data = excluded.data, text = excluded.text
                """,
                ("$session", message.SessionId), ("$message", message.Id), ("$id", ""), ("$position", 0), ("$data", ""), ("$text", null));
            for (int i = 0; i < parts.Count; i++)
            {
                insert.Parameters["$id"].Value = partIds[i];
                insert.Parameters["$position"].Value = i;
                insert.Parameters["$data"].Value = parts[i].Json;
                insert.Parameters["$text"].Value = (object?)parts[i].Text ?? DBNull.Value;
                await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Updates the message's own fields and the one part's row. With <paramref name="appendedText"/>, the text is
    /// appended to the stored text in the database; the rest of the part and the message are not rewritten.
    /// </remarks>
    public async ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        ValidateMessage(message);
        ArgumentNullException.ThrowIfNull(part);
        Identifier.Validate(part.Id, IdKind.Part, nameof(part));
        string header = StoredRecords.SerializeHeader(message);
        byte[]? appended = StoredRecords.AppendableText(part, appendedText);
        (string Json, byte[]? Text)? whole = appended is null ? StoredRecords.SplitPart(part) : null;
        await InTransactionAsync(async (connection, ct) =>
        {
            await UpsertHeaderAsync(connection, message, header, ct).ConfigureAwait(false);
            if (appended is not null)
            {
                using var append = Command(connection, """
                    UPDATE parts SET text = CAST(text || $appended AS BLOB)
                    WHERE session_id = $session AND message_id = $message AND id = $id AND text IS NOT NULL
                    """,
                    ("$appended", appended), ("$session", message.SessionId), ("$message", message.Id), ("$id", part.Id));
                if (await append.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
                {
                    return true;
                }

                whole = StoredRecords.SplitPart(part); // Not stored yet after all: store it whole.
            }

            using var upsert = Command(connection, """
                INSERT INTO parts (session_id, message_id, id, position, data, text)
                VALUES ($session, $message, $id,
                        (SELECT COALESCE(MAX(position) + 1, 0) FROM parts WHERE session_id = $session AND message_id = $message),
                        $data, $text)
                ON CONFLICT (session_id, message_id, id) DO UPDATE SET data = excluded.data, text = excluded.text
                """,
                ("$session", message.SessionId), ("$message", message.Id), ("$id", part.Id), ("$data", whole!.Value.Json), ("$text", whole.Value.Text));
            await upsert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns this store's pooled connections to the system.</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    private static async Task UpsertHeaderAsync(SqliteConnection connection, SessionMessage message, string header, CancellationToken cancellationToken)
    {
        using var command = Command(connection, """
            INSERT INTO messages (session_id, id, data) VALUES ($session, $id, $data)
            ON CONFLICT (session_id, id) DO UPDATE SET data = excluded.data
            """,
            ("$session", message.SessionId), ("$id", message.Id), ("$data", header));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void ValidateMessage(SessionMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Identifier.Validate(message.Id, IdKind.Message, nameof(message));
        Identifier.Validate(message.SessionId, IdKind.Session, nameof(message));
    }

    private async Task<bool> MigrateCoreAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        using (var wal = Command(connection, "PRAGMA journal_mode = WAL"))
        {
            await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        using var transaction = connection.BeginTransaction(deferred: false);
        using var read = Command(connection, "PRAGMA user_version");
        int version = Convert.ToInt32(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The database '{DatabasePath}' has schema version {version}, newer than the {SchemaVersion} this version of AgentCore.Sqlite knows. Upgrade the package.");
        }

        for (int next = version + 1; next <= SchemaVersion; next++)
        {
            using var migrate = Command(connection, SqliteDatabase.Migrations[next - 1]);
            await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            LogMigrated(DatabasePath, next);
        }

        using (var write = Command(connection, $"PRAGMA user_version = {SchemaVersion}"))
        {
            await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        transaction.Commit();
        return true;
    }

    private async ValueTask<T> RunAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        return await WithRetryAsync(operation, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<T> InTransactionAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        RunAsync(async (connection, ct) =>
        {
            // BEGIN IMMEDIATE: take the write lock up front, so a transaction never fails half-way on a lock upgrade.
            using var transaction = connection.BeginTransaction(deferred: false);
            T result = await operation(connection, ct).ConfigureAwait(false);
            transaction.Commit();
            return result;
        }, cancellationToken);

    /// <summary>Runs <paramref name="operation"/> on a new connection, again while the database is busy, until the busy timeout.</summary>
    private async ValueTask<T> WithRetryAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(5);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await SqliteDatabase.OpenAsync(_connectionString, cancellationToken).ConfigureAwait(false);
                return await operation(connection, cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex) when (SqliteDatabase.IsBusy(ex) && _time.GetElapsedTime(started) < _options.BusyTimeout)
            {
                LogBusy(DatabasePath, attempt);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(200).Ticks));
            }
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private SessionInfo? ReadSession(string id, string json)
    {
        try
        {
            if (StoredRecords.DeserializeSession(json) is { } session && session.Id == id)
            {
                return session;
            }

            LogCorruptSession(id, "the row holds no session with its id");
        }
        catch (JsonException ex)
        {
            LogCorruptSession(id, ex.Message);
        }

        return null;
    }

    private SessionMessage? ReadHeader(string sessionId, string id, string json)
    {
        try
        {
            if (StoredRecords.DeserializeHeader(json) is { } message && message.Id == id && message.SessionId == sessionId)
            {
                return message;
            }

            LogCorruptMessage(sessionId, id, "the row holds no message with its id");
        }
        catch (JsonException ex)
        {
            LogCorruptMessage(sessionId, id, ex.Message);
        }

        return null;
    }

    private MessagePart? ReadPart(string sessionId, string messageId, string id, string json, byte[]? text)
    {
        try
        {
            if (StoredRecords.JoinPart(json, text) is { } part && part.Id == id)
            {
                return part;
            }

            LogCorruptPart(sessionId, messageId, id, "the row holds no part with its id");
        }
        catch (JsonException ex)
        {
            LogCorruptPart(sessionId, messageId, id, ex.Message);
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Migrated SQLite database {Path} to schema version {Version}")]
    private partial void LogMigrated(string path, int version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SQLite database {Path} is busy; retrying (attempt {Attempt})")]
    private partial void LogBusy(string path, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt session {SessionId}: {Reason}")]
    private partial void LogCorruptSession(string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt message {MessageId} of session {SessionId}: {Reason}")]
    private partial void LogCorruptMessage(string sessionId, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt part {PartId} of message {MessageId} of session {SessionId}: {Reason}")]
    private partial void LogCorruptPart(string sessionId, string messageId, string partId, string reason);
}
