using System.Runtime.CompilerServices;
using AgentCore.Storage;
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
/// survives a crash of the process (a power loss may lose the last commits, never corrupt the file). Reads open a
/// pooled connection each; write transactions run one at a time per database file in the process, on a connection the
/// store keeps open, so they never meet each other's write lock; one that meets another process's (<c>SQLITE_BUSY</c>)
/// waits in SQLite's busy handler and is then retried until <see cref="SqliteStoreOptions.BusyTimeout"/>. Writes that
/// queue while a transaction runs are committed together in the next one (group commit), each in its own savepoint, so
/// one that fails is rolled back alone; every call returns after the commit that holds its writes.</para>
/// <para>The schema is versioned in the database (<c>PRAGMA user_version</c>) and migrated on first use, in one write
/// transaction, so processes starting together migrate once. Tables: <c>sessions</c> (the session as JSON, with
/// indexed creation time and the token and cost totals as columns), <c>messages</c> (a message's own fields, a column
/// each) and <c>parts</c> (one row a part: its type, its JSON — none for text and reasoning parts — and streamed text
/// in its own column, so an append updates one part's row, not the message) and <c>session_metadata</c> (a session's
/// metadata, a row a key, for filtered listings). Loading a session parses no JSON but for parts other than text and
/// reasoning.</para>
/// <para>A corrupt row is skipped with a warning. Times round-trip exactly (message times as UTC instants).</para>
/// </remarks>
public sealed partial class SqliteSessionStore : ISessionStore, IDisposable
{
    /// <summary>The schema version this package writes.</summary>
    public const int SchemaVersion = SqliteDatabase.SchemaVersion;

    private readonly SqliteDatabase _database;

    /// <summary>Creates a store in the database file <paramref name="path"/> (created, with its folder, when first used).</summary>
    /// <param name="path">The database file, or a connection string with a <c>Data Source</c>.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <param name="timeProvider">The clock of the busy retries. Default: <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or white space.</exception>
    public SqliteSessionStore(string path, ILogger<SqliteSessionStore>? logger = null, TimeProvider? timeProvider = null)
        : this(path, new SqliteStoreOptions(), logger, timeProvider)
    {
    }

    /// <summary>Creates a store in the database file <paramref name="path"/> with <paramref name="options"/>.</summary>
    /// <param name="path">The database file, or a connection string with a <c>Data Source</c>.</param>
    /// <param name="options">The store's settings (validated here).</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <param name="timeProvider">The clock of the busy retries. Default: <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or white space.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting of <paramref name="options"/> is out of range.</exception>
    public SqliteSessionStore(string path, SqliteStoreOptions options, ILogger<SqliteSessionStore>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _database = new SqliteDatabase(
            Path.GetFullPath(path), options, timeProvider ?? TimeProvider.System, logger ?? NullLogger<SqliteSessionStore>.Instance);
    }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => _database.DatabasePath;

    /// <summary>
    /// Creates the database or brings its schema up to <see cref="SchemaVersion"/>. Idempotent; every other method
    /// calls it first, so calling it is only needed to migrate at start-up.
    /// </summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    /// <exception cref="InvalidOperationException">The database was written by a newer version of this package.</exception>
    /// <exception cref="AgentCoreException">
    /// The file is not an SQLite database, is corrupt, cannot be opened or written, or its disk is full: the message names
    /// the file and the way out (the <see cref="SqliteException"/> is the inner exception). Every other method throws it too.
    /// </exception>
    public ValueTask MigrateAsync(CancellationToken cancellationToken = default) => _database.MigrateAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        string? json = await RunAsync(async (connection, ct) =>
        {
            using var command = Command(connection, "SELECT data FROM sessions WHERE id = $id", ("$id", sessionId));
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) as string;
        }, cancellationToken).ConfigureAwait(false);
        return json is null ? null : ReadSession(sessionId, json);
    }

    /// <inheritdoc />
    /// <remarks>Reads only the sessions' JSON, in creation order from the index.</remarks>
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sessions = await RunAsync((connection, ct) =>
        {
            var list = new List<SessionInfo>();
            using var rows = SqliteRows.Query(connection, "SELECT data, id FROM sessions ORDER BY created_at DESC, id DESC");
            while (rows.Step())
            {
                ct.ThrowIfCancellationRequested();
                if (ReadSession(rows) is { } session)
                {
                    list.Add(session);
                }
            }

            return Task.FromResult(list);
        }, cancellationToken).ConfigureAwait(false);

        foreach (var session in sessions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return session;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Runs in the database, from indexes: with a metadata filter, from <c>session_metadata</c>'s (key, value, creation
    /// time, id) index, which holds one owner's sessions already in listing order, so the read stops after the page;
    /// with a parent, from the parent's index; otherwise from the newest-first index. Other filters are checked on the
    /// rows read, and every row is checked again against <see cref="SessionQuery.Matches"/> once parsed.
    /// </remarks>
    public async ValueTask<SessionPage> ListSessionsAsync(SessionQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var matches = await RunAsync(async (connection, ct) =>
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var found = new List<SessionInfo>();
            (long Ticks, string Id)? after = query.After is { } cursor ? (cursor.CreatedAt.UtcTicks, cursor.SessionId) : null;
            while (true)
            {
                int wanted = query.PageSize + 1 - found.Count;
                var (sql, parameters) = SqliteQueries.ListSql(query, afterKey: after is not null);
                using var command = Command(connection, sql, parameters);
                command.Parameters.AddWithValue("$limit", wanted);
                if (after is { } key)
                {
                    command.Parameters.AddWithValue("$afterTicks", key.Ticks);
                    command.Parameters.AddWithValue("$afterId", key.Id);
                }

                int read = 0;
                using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(ct).ConfigureAwait(false))
                    {
                        read++;
                        string id = reader.GetString(1);
                        after = (reader.GetInt64(2), id);
                        if (ReadSession(id, reader.GetString(0)) is { } session && query.Matches(session))
                        {
                            found.Add(session);
                        }
                    }
                }

                // Fewer rows than asked: the listing is done. Otherwise a corrupt or stale row was skipped: read on.
                if (read < wanted || found.Count > query.PageSize)
                {
                    break;
                }
            }

            transaction.Commit();
            return found;
        }, cancellationToken).ConfigureAwait(false);
        return SessionPages.Of(matches, query.PageSize);
    }

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateSession(session);
        await InTransactionAsync(async (connection, ct) =>
        {
            await UpsertSessionAsync(connection, session, ct).ConfigureAwait(false);
            await ReplaceMetadataAsync(connection, session, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Atomic across connections and processes: the read, <paramref name="update"/> and the write are one write transaction.</remarks>
    public async ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        ArgumentNullException.ThrowIfNull(update);
        return await InTransactionAsync<SessionInfo?>(async (connection, ct) =>
        {
            var select = SqliteDatabase.Reused(connection, "SELECT data FROM sessions WHERE id = $id", ("$id", sessionId));
            if (await select.ExecuteScalarAsync(ct).ConfigureAwait(false) is not string json || ReadSession(sessionId, json) is not { } current)
            {
                return null;
            }

            if (StoredRecords.ApplyUpdate(current, update) is not { } changed)
            {
                return current;
            }

            if (current.CreatedAt.UtcTicks == changed.CreatedAt.UtcTicks && string.Equals(current.ParentId, changed.ParentId, StringComparison.Ordinal))
            {
                UpdateSessionRow(connection, changed);
            }
            else
            {
                await UpsertSessionAsync(connection, changed, ct).ConfigureAwait(false);
            }

            if (!StoredValues.SameListingKeys(current, changed))
            {
                await ReplaceMetadataAsync(connection, changed, ct).ConfigureAwait(false);
            }

            return changed;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpsertSessionAsync(SqliteConnection connection, SessionInfo session, CancellationToken cancellationToken)
    {
        string json = StoredRecords.SerializeSession(session);
        var command = SqliteDatabase.Reused(connection, """
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
            ("$cacheWrite", session.Tokens.CacheWrite), ("$cost", StoredValues.FormatDecimal(session.Cost)), ("$data", json));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Updates a stored session's row whose creation time and parent are unchanged: only the columns that can differ, so
    /// the newest-first and parent indexes, whose keys did not change, are not rewritten (a page each in the WAL).
    /// </summary>
    private static void UpdateSessionRow(SqliteConnection connection, SessionInfo session)
    {
        SqliteDatabase.Prepared(connection, """
            UPDATE sessions SET updated_at = ?2, input_tokens = ?3, output_tokens = ?4, reasoning_tokens = ?5,
                                cache_read_tokens = ?6, cache_write_tokens = ?7, cost = ?8, data = ?9
            WHERE id = ?1
            """)
            .Bind(1, session.Id).Bind(2, session.UpdatedAt.UtcTicks).Bind(3, session.Tokens.Input).Bind(4, session.Tokens.Output)
            .Bind(5, session.Tokens.Reasoning).Bind(6, session.Tokens.CacheRead).Bind(7, session.Tokens.CacheWrite)
            .Bind(8, StoredValues.FormatDecimal(session.Cost)).Bind(9, StoredRecords.SerializeSession(session))
            .Execute();
    }

    /// <summary>Writes <paramref name="session"/>'s metadata rows in place of those stored before.</summary>
    internal static async Task ReplaceMetadataAsync(SqliteConnection connection, SessionInfo session, CancellationToken cancellationToken)
    {
        using (var delete = Command(connection, "DELETE FROM session_metadata WHERE session_id = $id", ("$id", session.Id)))
        {
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (session.Metadata.Count == 0)
        {
            return;
        }

        using var insert = Command(connection, "INSERT INTO session_metadata (session_id, key, value, created_at) VALUES ($id, $key, $value, $created)",
            ("$id", session.Id), ("$key", ""), ("$value", ""), ("$created", session.CreatedAt.UtcTicks));
        foreach (var (key, value) in session.Metadata)
        {
            insert.Parameters["$key"].Value = key;
            insert.Parameters["$value"].Value = value;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The statements that delete a session's rows, children first.</summary>
    private static readonly string[] DeleteSessionStatements =
    [
        "DELETE FROM parts WHERE session_id = $id",
        "DELETE FROM messages WHERE session_id = $id",
        "DELETE FROM session_metadata WHERE session_id = $id",
        "DELETE FROM sessions WHERE id = $id",
    ];

    /// <inheritdoc />
    public ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        return InTransactionAsync(async (connection, ct) =>
        {
            SqliteDatabase.ForgetHeaders(connection);
            int deleted = 0;
            foreach (string sql in DeleteSessionStatements)
            {
                using var command = Command(connection, sql, ("$id", sessionId));
                deleted += await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            return deleted > 0;
        }, cancellationToken, stamped: sessionId);
    }

    /// <inheritdoc />
    /// <remarks>One transaction: every listed message goes, with its parts, or none does.</remarks>
    public ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessageIds(sessionId, messageIds);
        if (messageIds.Count == 0)
        {
            return ValueTask.FromResult(0);
        }

        return InTransactionAsync(async (connection, ct) =>
        {
            SqliteDatabase.ForgetHeaders(connection);

            // Two commands prepared once and run again per id.
            using var parts = Command(connection, "DELETE FROM parts WHERE session_id = $session AND message_id = $id", ("$session", sessionId), ("$id", ""));
            using var message = Command(connection, "DELETE FROM messages WHERE session_id = $session AND id = $id", ("$session", sessionId), ("$id", ""));
            int deleted = 0;
            foreach (string id in messageIds.Distinct(StringComparer.Ordinal))
            {
                parts.Parameters["$id"].Value = id;
                message.Parameters["$id"].Value = id;
                await parts.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                deleted += await message.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            return deleted;
        }, cancellationToken, stamped: sessionId);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two ordered scans in one read transaction (one snapshot): the messages' rows by id, then the parts' rows by message
    /// id and position, merged in order; no JSON is parsed but for parts other than text and reasoning.
    /// </remarks>
    public async ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        return await RunAsync((connection, ct) =>
        {
            using var transaction = connection.BeginTransaction(deferred: true);
            var messages = ReadMessages(connection, sessionId, ct);
            transaction.Commit();
            return Task.FromResult<IReadOnlyList<SessionMessage>>(messages);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessage(message);
        var parts = PartRows(message);
        await InTransactionAsync((connection, _) =>
        {
            WriteMessage(connection, message, parts);
            return Task.FromResult(true);
        }, cancellationToken, stamped: message.SessionId).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Updates the message's own fields and the one part's row. With <paramref name="appendedText"/>, the text is
    /// appended to the stored text in the database; the rest of the part and the message are not rewritten.
    /// </remarks>
    public async ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidatePart(message, part);
        var change = PartChange.Of(part, appendedText);
        await InTransactionAsync((connection, _) =>
        {
            UpsertHeader(connection, message);
            WritePart(connection, message, change);
            return Task.FromResult(true);
        }, cancellationToken, stamped: message.SessionId).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One write transaction on the store's writer connection, with statements prepared once per connection: the
    /// message's own fields, then each change in order — appended text appended to the stored text in the database (the
    /// rest of the part is not rewritten), other parts upserted (a new part goes after the stored ones). All or nothing,
    /// across a crash too. An empty list writes the message's own fields only.
    /// </remarks>
    public async ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateParts(message, changes);
        var rows = new PartChange[changes.Count];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = PartChange.Of(changes[i].Part, changes[i].AppendedText);
        }

        await InTransactionAsync((connection, _) =>
        {
            UpsertHeader(connection, message);
            foreach (var row in rows)
            {
                WritePart(connection, message, row);
            }

            return Task.FromResult(true);
        }, cancellationToken, stamped: message.SessionId).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Costs no read of the messages: this instance's count of its own writes to the session, and SQLite's
    /// <c>PRAGMA data_version</c> of the store's writer connection, which changes whenever another connection — another
    /// store instance or another process — commits to the file. Conservative: a write by another process to any session
    /// changes every session's stamp (the next turn then reads the messages again). A stamp is compared only with stamps
    /// of the same store instance.
    /// </remarks>
    public async ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        return await _database.MessagesStampAsync(sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one part change inside a write transaction: appended text appended to the stored text (or, when the part is
    /// not stored after all, the whole part), other parts upserted, a new one after the stored ones.
    /// </summary>
    private static void WritePart(SqliteConnection connection, SessionMessage message, PartChange change)
    {
        var part = change.Part;
        if (change.Appended is { } appended)
        {
            var append = SqliteDatabase.Prepared(connection, """
                UPDATE parts SET text = CAST(text || ?1 AS BLOB)
                WHERE session_id = ?2 AND message_id = ?3 AND id = ?4 AND text IS NOT NULL
                """);
            if (append.Bind(1, appended).Bind(2, message.SessionId).Bind(3, message.Id).Bind(4, part.Id).Execute() == 1)
            {
                return;
            }
        }

        var (type, json, text) = change.Whole ?? StoredParts.Split(part); // Appended to a part not stored yet: store it whole.
        if (!SqliteDatabase.TryLastPosition(connection, message.SessionId, message.Id, out long last))
        {
            // Once per message while the writer's memory of it is valid: the parts' positions are not indexed (schema 5).
            last = SqliteDatabase.Prepared(connection, "SELECT COALESCE(MAX(position), -1) FROM parts WHERE session_id = ?1 AND message_id = ?2")
                .Bind(1, message.SessionId).Bind(2, message.Id).QueryInt64();
        }

        // A new part goes after the stored ones; a stored part keeps its position (RETURNING gives the row's position either way).
        long position = SqliteDatabase.Prepared(connection, """
            INSERT INTO parts (session_id, message_id, id, position, type, data, text) VALUES (?1, ?2, ?3, ?7, ?4, ?5, ?6)
            ON CONFLICT (session_id, message_id, id) DO UPDATE SET type = excluded.type, data = excluded.data, text = excluded.text
            RETURNING position
            """)
            .Bind(1, message.SessionId).Bind(2, message.Id).Bind(3, part.Id).Bind(4, type).Bind(5, json).Bind(6, text).Bind(7, last + 1)
            .QueryInt64();
        SqliteDatabase.RememberLastPosition(connection, message.SessionId, message.Id, Math.Max(last, position));
    }

    /// <summary>
    /// A part change as the database writes it, taken before the write (which may be retried): the appended text as
    /// UTF-8, or the part's row.
    /// </summary>
    private readonly record struct PartChange(MessagePart Part, byte[]? Appended, (string Type, string? Json, byte[]? Text)? Whole)
    {
        public static PartChange Of(MessagePart part, string? appendedText)
        {
            byte[]? appended = StoredParts.AppendableText(part, appendedText);
            return new PartChange(part, appended, appended is null ? StoredParts.Split(part) : null);
        }
    }

    /// <summary>Closes this store's writer connection and returns its pooled connections to the system.</summary>
    public void Dispose() => _database.ClearPool();

    /// <summary>Writes a whole message: its own fields, and its parts in place of any stored before.</summary>
    /// <remarks>
    /// Rows that are already stored as they are (a message completed after its parts were saved one by one) are left
    /// alone: only changed or new parts are written, and only parts the message no longer has are deleted.
    /// </remarks>
    internal static void WriteMessage(SqliteConnection connection, SessionMessage message, List<(string Id, (string Type, string? Json, byte[]? Text) Row)> parts)
    {
        UpsertHeader(connection, message);
        string ids = JsonArrayOf(parts);
        SqliteDatabase.Prepared(connection, "DELETE FROM parts WHERE session_id = ?1 AND message_id = ?2 AND id NOT IN (SELECT value FROM json_each(?3))")
            .Bind(1, message.SessionId).Bind(2, message.Id).Bind(3, ids).Execute();

        var insert = SqliteDatabase.Prepared(connection, """
            INSERT INTO parts (session_id, message_id, id, position, type, data, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            ON CONFLICT (session_id, message_id, id) DO UPDATE SET position = excluded.position, type = excluded.type, data = excluded.data, text = excluded.text
            WHERE position IS NOT excluded.position OR type IS NOT excluded.type OR data IS NOT excluded.data OR text IS NOT excluded.text
            """);
        for (int i = 0; i < parts.Count; i++)
        {
            var (id, (type, json, text)) = parts[i];
            insert.Bind(1, message.SessionId).Bind(2, message.Id).Bind(3, id).Bind(4, i).Bind(5, type).Bind(6, json).Bind(7, text).Execute();
        }

        SqliteDatabase.RememberLastPosition(connection, message.SessionId, message.Id, parts.Count - 1);
    }

    /// <summary>The parts' ids as a JSON array (for <c>json_each</c>).</summary>
    private static string JsonArrayOf(List<(string Id, (string Type, string? Json, byte[]? Text) Row)> parts)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var (id, _) in parts)
            {
                writer.WriteStringValue(id);
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The rows of a message's parts, taken before the write (which may be retried).</summary>
    internal static List<(string Id, (string Type, string? Json, byte[]? Text) Row)> PartRows(SessionMessage message) =>
        message.Parts.Select(static p => (p.Id, StoredParts.Split(p))).ToList();

    /// <summary>
    /// Inserts or updates a message's own fields (every column but the parts), unless this writer connection stored these
    /// very fields for the message since any other connection last wrote to the file (see
    /// <see cref="SqliteDatabase.UnchangedHeader"/>): a step's second save, whose totals did not move, binds and runs nothing.
    /// </summary>
    private static void UpsertHeader(SqliteConnection connection, SessionMessage message)
    {
        var header = new StoredHeader(
            StoredValues.RoleValue(message.Role), message.CreatedAt.UtcTicks, message.CompletedAt?.UtcTicks, message.ProviderId, message.ModelId,
            message.Tokens, StoredValues.FormatDecimal(message.Cost), message.IsSummary, message.SummarizedThrough, message.FinishReason, message.Error);
        if (SqliteDatabase.UnchangedHeader(connection, message.SessionId, message.Id, header))
        {
            return;
        }

        var statement = SqliteDatabase.Prepared(connection, """
            INSERT INTO messages (session_id, id, role, created_at, completed_at, provider_id, model_id, input_tokens, output_tokens,
                                  reasoning_tokens, cache_read_tokens, cache_write_tokens, cost, is_summary, summarized_through,
                                  finish_reason, error)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
            ON CONFLICT (session_id, id) DO UPDATE SET
                role = excluded.role, created_at = excluded.created_at, completed_at = excluded.completed_at,
                provider_id = excluded.provider_id, model_id = excluded.model_id, input_tokens = excluded.input_tokens,
                output_tokens = excluded.output_tokens, reasoning_tokens = excluded.reasoning_tokens,
                cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost,
                is_summary = excluded.is_summary, summarized_through = excluded.summarized_through, finish_reason = excluded.finish_reason,
                error = excluded.error
            """);
        statement.Bind(1, message.SessionId).Bind(2, message.Id).Bind(3, header.Role)
            .Bind(4, message.CreatedAt.UtcTicks).Bind(5, message.CompletedAt?.UtcTicks)
            .Bind(6, message.ProviderId).Bind(7, message.ModelId)
            .Bind(8, message.Tokens.Input).Bind(9, message.Tokens.Output).Bind(10, message.Tokens.Reasoning)
            .Bind(11, message.Tokens.CacheRead).Bind(12, message.Tokens.CacheWrite)
            .Bind(13, header.Cost).Bind(14, message.IsSummary ? 1 : 0)
            .Bind(15, message.SummarizedThrough).Bind(16, message.FinishReason).Bind(17, StoredRecords.SerializeError(message.Error))
            .Execute();
        SqliteDatabase.RememberHeader(connection, message.SessionId, message.Id, header);
    }

    /// <summary>
    /// A message's own fields as the <c>messages</c> row stores them, compared by value.
    /// </summary>
    internal readonly record struct StoredHeader(
        string Role, long CreatedAt, long? CompletedAt, string? ProviderId, string? ModelId, TokenUsage Tokens, string Cost,
        bool IsSummary, string? SummarizedThrough, string? FinishReason, MessageError? Error);

    /// <summary>The messages of a session and their parts; call inside a read transaction.</summary>
    private List<SessionMessage> ReadMessages(SqliteConnection connection, string sessionId, CancellationToken cancellationToken)
    {
        var read = _database.Rows.Messages(sessionId);
        using (var rows = SqliteRows.Query(connection, $"SELECT {StoredRowReader.MessageColumns} FROM messages WHERE session_id = $session ORDER BY id", sessionId))
        {
            while (rows.Step())
            {
                read.AddMessage(rows);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        using (var rows = SqliteRows.Query(
            connection, $"SELECT {StoredRowReader.PartColumns} FROM parts WHERE session_id = $session ORDER BY message_id, position, id", sessionId))
        {
            while (rows.Step() && read.AddPart(rows))
            {
            }
        }

        return read.Messages;
    }

    private ValueTask<T> RunAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken) =>
        _database.RunAsync(operation, cancellationToken);

    private ValueTask<T> InTransactionAsync<T>(
        Func<SqliteConnection, CancellationToken, Task<T>> operation, CancellationToken cancellationToken, string? stamped = null) =>
        _database.InTransactionAsync(operation, cancellationToken, stamped);

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters) =>
        SqliteDatabase.Command(connection, sql, parameters);

    private SessionInfo? ReadSession(string id, string json) => _database.Rows.Session(id, json);

    private SessionInfo? ReadSession(SqliteRows rows) => _database.Rows.Session(rows);
}
