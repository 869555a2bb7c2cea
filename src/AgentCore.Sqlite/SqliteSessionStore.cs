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
    public const int SchemaVersion = 4;

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
    /// <exception cref="AgentCoreException">
    /// The file is not an SQLite database, is corrupt, cannot be opened or written, or its disk is full: the message names
    /// the file and the way out (the <see cref="SqliteException"/> is the inner exception). Every other method throws it too.
    /// </exception>
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
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(update);
        return await InTransactionAsync<SessionInfo?>(async (connection, ct) =>
        {
            using var select = Command(connection, "SELECT data FROM sessions WHERE id = $id", ("$id", sessionId));
            if (await select.ExecuteScalarAsync(ct).ConfigureAwait(false) is not string json || ReadSession(sessionId, json) is not { } current)
            {
                return null;
            }

            if (StoredRecords.Updated(current, update) is not { } changed)
            {
                return current;
            }

            await UpsertSessionAsync(connection, changed, ct).ConfigureAwait(false);
            if (!StoredRecords.SameListingKeys(current, changed))
            {
                await ReplaceMetadataAsync(connection, changed, ct).ConfigureAwait(false);
            }

            return changed;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpsertSessionAsync(SqliteConnection connection, SessionInfo session, CancellationToken cancellationToken)
    {
        string json = StoredRecords.SerializeSession(session);
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
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes <paramref name="session"/>'s metadata rows in place of those stored before.</summary>
    private static async Task ReplaceMetadataAsync(SqliteConnection connection, SessionInfo session, CancellationToken cancellationToken)
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
                "DELETE FROM session_metadata WHERE session_id = $id",
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
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two ordered scans in one read transaction (one snapshot): the messages' rows by id, then the parts' rows by message
    /// id and position, merged in order; no JSON is parsed but for parts other than text and reasoning.
    /// </remarks>
    public async ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
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
        var parts = StoredParts(message);
        await InTransactionAsync(async (connection, ct) =>
        {
            await WriteMessageAsync(connection, message, parts, ct).ConfigureAwait(false);
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
        StoredRecords.ValidatePart(message, part);
        byte[]? appended = StoredRecords.AppendableText(part, appendedText);
        (string Type, string? Json, byte[]? Text)? whole = appended is null ? StoredRecords.SplitPart(part) : null;
        await InTransactionAsync(async (connection, ct) =>
        {
            await UpsertHeaderAsync(connection, message, ct).ConfigureAwait(false);
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
                INSERT INTO parts (session_id, message_id, id, position, type, data, text)
                VALUES ($session, $message, $id,
                        (SELECT COALESCE(MAX(position) + 1, 0) FROM parts WHERE session_id = $session AND message_id = $message),
                        $type, $data, $text)
                ON CONFLICT (session_id, message_id, id) DO UPDATE SET type = excluded.type, data = excluded.data, text = excluded.text
                """,
                ("$session", message.SessionId), ("$message", message.Id), ("$id", part.Id),
                ("$type", whole!.Value.Type), ("$data", whole.Value.Json), ("$text", whole.Value.Text));
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

    /// <summary>Writes a whole message: its own fields, and its parts in place of any stored before.</summary>
    private static async Task WriteMessageAsync(
        SqliteConnection connection, SessionMessage message, List<(string Id, (string Type, string? Json, byte[]? Text) Row)> parts, CancellationToken cancellationToken)
    {
        await UpsertHeaderAsync(connection, message, cancellationToken).ConfigureAwait(false);
        using (var delete = Command(connection, "DELETE FROM parts WHERE session_id = $session AND message_id = $message",
                   ("$session", message.SessionId), ("$message", message.Id)))
        {
            await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        using var insert = Command(connection, """
            INSERT INTO parts (session_id, message_id, id, position, type, data, text) VALUES ($session, $message, $id, $position, $type, $data, $text)
            ON CONFLICT (session_id, message_id, id) DO UPDATE SET type = excluded.type, data = excluded.data, text = excluded.text
            """,
            ("$session", message.SessionId), ("$message", message.Id), ("$id", ""), ("$position", 0), ("$type", ""), ("$data", null), ("$text", null));
        for (int i = 0; i < parts.Count; i++)
        {
            var (id, (type, json, text)) = parts[i];
            insert.Parameters["$id"].Value = id;
            insert.Parameters["$position"].Value = i;
            insert.Parameters["$type"].Value = type;
            insert.Parameters["$data"].Value = (object?)json ?? DBNull.Value;
            insert.Parameters["$text"].Value = (object?)text ?? DBNull.Value;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The rows of a message's parts, taken before the write (which may be retried).</summary>
    private static List<(string Id, (string Type, string? Json, byte[]? Text) Row)> StoredParts(SessionMessage message) =>
        message.Parts.Select(static p => (p.Id, StoredRecords.SplitPart(p))).ToList();

    /// <summary>Inserts or updates a message's own fields (every column but the parts).</summary>
    private static async Task UpsertHeaderAsync(SqliteConnection connection, SessionMessage message, CancellationToken cancellationToken)
    {
        using var command = Command(connection, """
            INSERT INTO messages (session_id, id, role, created_at, completed_at, provider_id, model_id, input_tokens, output_tokens,
                                  reasoning_tokens, cache_read_tokens, cache_write_tokens, cost, is_summary, summarized_through,
                                  finish_reason, error)
            VALUES ($session, $id, $role, $created, $completed, $provider, $model, $input, $output, $reasoning, $cacheRead, $cacheWrite,
                    $cost, $summary, $through, $finish, $error)
            ON CONFLICT (session_id, id) DO UPDATE SET
                role = excluded.role, created_at = excluded.created_at, completed_at = excluded.completed_at,
                provider_id = excluded.provider_id, model_id = excluded.model_id, input_tokens = excluded.input_tokens,
                output_tokens = excluded.output_tokens, reasoning_tokens = excluded.reasoning_tokens,
                cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost,
                is_summary = excluded.is_summary, summarized_through = excluded.summarized_through, finish_reason = excluded.finish_reason,
                error = excluded.error
            """,
            ("$session", message.SessionId), ("$id", message.Id), ("$role", StoredRecords.RoleValue(message.Role)),
            ("$created", message.CreatedAt.UtcTicks), ("$completed", message.CompletedAt?.UtcTicks),
            ("$provider", message.ProviderId), ("$model", message.ModelId),
            ("$input", message.Tokens.Input), ("$output", message.Tokens.Output), ("$reasoning", message.Tokens.Reasoning),
            ("$cacheRead", message.Tokens.CacheRead), ("$cacheWrite", message.Tokens.CacheWrite),
            ("$cost", StoredRecords.FormatDecimal(message.Cost)), ("$summary", message.IsSummary ? 1 : 0),
            ("$through", message.SummarizedThrough), ("$finish", message.FinishReason), ("$error", StoredRecords.SerializeError(message.Error)));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The messages of a session and their parts; call inside a read transaction.</summary>
    private List<SessionMessage> ReadMessages(SqliteConnection connection, string sessionId, CancellationToken cancellationToken)
    {
        var messages = new List<SessionMessage>();
        using (var rows = SqliteRows.Query(connection, """
            SELECT id, role, created_at, completed_at, provider_id, model_id, input_tokens, output_tokens, reasoning_tokens,
                   cache_read_tokens, cache_write_tokens, cost, is_summary, summarized_through, finish_reason, error
            FROM messages WHERE session_id = $session ORDER BY id
            """, sessionId))
        {
            string? provider = null, model = null, finish = null;
            while (rows.Step())
            {
                if (ReadMessage(rows, sessionId, ref provider, ref model, ref finish) is { } message)
                {
                    messages.Add(message);
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        using (var rows = SqliteRows.Query(connection, """
            SELECT message_id, id, type, data, text FROM parts WHERE session_id = $session ORDER BY message_id, position, id
            """, sessionId))
        {
            // Both scans are in id order: walk the messages along the parts (parts of a corrupt or missing message are skipped).
            int at = 0;
            while (rows.Step())
            {
                int order = 0;
                while (at < messages.Count && (order = CompareAscii(messages[at].Id, rows.Bytes(0))) < 0)
                {
                    at++;
                }

                if (at == messages.Count)
                {
                    break;
                }

                if (order == 0 && ReadPart(rows, messages[at]) is { } part)
                {
                    messages[at].Parts.Add(part);
                }
            }
        }

        return messages;
    }

    /// <summary>A message's own fields from a row of <see cref="ReadMessages"/>' first scan; null (with a warning) when the row is corrupt.</summary>
    private SessionMessage? ReadMessage(SqliteRows rows, string sessionId, ref string? provider, ref string? model, ref string? finish)
    {
        string id = rows.String(0);
        string? problem = null;
        DateTimeOffset? completedAt = null;
        MessageError? error = null;
        // The id, the role and the values' ranges are StoredRecords.CheckMessage's to judge; here, what the columns hold.
        if (!rows.IsInteger(2) || StoredRecords.UtcFromTicks(rows.Int64(2)) is not { } createdAt)
        {
            problem = "its creation time is not a time";
        }
        else if (!rows.IsNull(3) && (!rows.IsInteger(3) || (completedAt = StoredRecords.UtcFromTicks(rows.Int64(3))) is null))
        {
            problem = "its completion time is not a time";
        }
        else if (!rows.IsInteger(6) || !rows.IsInteger(7) || !rows.IsInteger(8) || !rows.IsInteger(9) || !rows.IsInteger(10) || !rows.IsInteger(12))
        {
            problem = "its token counts or summary flag are not integers";
        }
        else if (StoredRecords.ParseDecimal(rows.Bytes(11)) is not { } cost)
        {
            problem = "its cost is not a number";
        }
        else if (!rows.IsNull(15) && (error = StoredRecords.DeserializeError(rows.Bytes(15))) is null)
        {
            problem = "its error is not an error";
        }
        else
        {
            var message = new SessionMessage
            {
                Id = id,
                SessionId = sessionId,
                Role = StoredRecords.Role(rows.Bytes(1)) ?? default,
                CreatedAt = createdAt,
                CompletedAt = completedAt,
                ProviderId = rows.IsNull(4) ? null : StoredRecords.CachedString(rows.Bytes(4), ref provider),
                ModelId = rows.IsNull(5) ? null : StoredRecords.CachedString(rows.Bytes(5), ref model),
                Tokens = new TokenUsage(rows.Int64(6), rows.Int64(7), rows.Int64(8), rows.Int64(9), rows.Int64(10)),
                Cost = cost,
                IsSummary = rows.Int64(12) != 0,
                SummarizedThrough = rows.NullableString(13),
                FinishReason = rows.IsNull(14) ? null : StoredRecords.CachedString(rows.Bytes(14), ref finish),
                Error = error,
            };
            if ((problem = StoredRecords.CheckMessage(message, sessionId, skippedParts: null)) is null)
            {
                return message;
            }
        }

        LogCorruptMessage(sessionId, id, problem);
        return null;
    }

    /// <summary>A part from a row of <see cref="ReadMessages"/>' second scan; null (with a warning) when the row is corrupt.</summary>
    private MessagePart? ReadPart(SqliteRows rows, SessionMessage message)
    {
        string id = rows.String(1);
        string problem;
        if (!Identifier.IsValid(id, IdKind.Part))
        {
            problem = "its id is malformed";
        }
        else if (rows.IsNull(3))
        {
            if (StoredRecords.TextualPart(rows.Bytes(2), id, rows.Bytes(4)) is { } textual)
            {
                return textual;
            }

            problem = "it has no JSON and is not a text or reasoning part";
        }
        else if (StoredRecords.ReadPart(rows.Bytes(3), id, out string? bad) is { } part)
        {
            return part;
        }
        else
        {
            problem = bad!;
        }

        LogCorruptPart(message.SessionId, message.Id, id, problem);
        return null;
    }

    /// <summary>Compares an ASCII id with UTF-8 bytes the way SQLite's BINARY collation orders them.</summary>
    private static int CompareAscii(string id, ReadOnlySpan<byte> utf8)
    {
        int length = Math.Min(id.Length, utf8.Length);
        for (int i = 0; i < length; i++)
        {
            int difference = id[i] - utf8[i];
            if (difference != 0)
            {
                return difference;
            }
        }

        return id.Length - utf8.Length;
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
            using (var migrate = Command(connection, SqliteDatabase.Migrations[next - 1]))
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
            var messages = new List<SessionMessage>();
            var byId = new Dictionary<string, SessionMessage>(StringComparer.Ordinal);
            using (var command = Command(connection, "SELECT id, data FROM messages_v1 WHERE session_id = $id ORDER BY id", ("$id", sessionId)))
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    string id = reader.GetString(0);
                    if (ReadHeaderV1(sessionId, id, reader.GetString(1)) is { } message)
                    {
                        messages.Add(message);
                        byId[id] = message;
                    }
                }
            }

            using (var command = Command(connection, """
                SELECT message_id, id, data, text FROM parts_v1 WHERE session_id = $id ORDER BY message_id, position, id
                """, ("$id", sessionId)))
            using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (byId.TryGetValue(reader.GetString(0), out var message)
                        && ReadPartV1(sessionId, message.Id, reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3)) is { } part)
                    {
                        message.Parts.Add(part);
                    }
                }
            }

            foreach (var message in messages)
            {
                await WriteMessageAsync(connection, message, StoredParts(message), cancellationToken).ConfigureAwait(false);
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
        var sessions = new List<SessionInfo>();
        using (var command = Command(connection, "SELECT id, data FROM sessions"))
        using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (ReadSession(reader.GetString(0), reader.GetString(1)) is { Metadata.Count: > 0 } session)
                {
                    sessions.Add(session);
                }
            }
        }

        foreach (var session in sessions)
        {
            await ReplaceMetadataAsync(connection, session, cancellationToken).ConfigureAwait(false);
        }
    }

    private SessionMessage? ReadHeaderV1(string sessionId, string id, string json)
    {
        var message = StoredRecords.ReadHeaderV1(json, sessionId, id, out string? problem);
        if (message is null)
        {
            LogCorruptMessage(sessionId, id, problem!);
        }

        return message;
    }

    private MessagePart? ReadPartV1(string sessionId, string messageId, string id, string json, byte[]? text)
    {
        var part = StoredRecords.ReadPartV1(json, text, id, out string? problem);
        if (part is null)
        {
            LogCorruptPart(sessionId, messageId, id, problem!);
        }

        return part;
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
            catch (SqliteException ex) when (SqliteDatabase.Unusable(ex, DatabasePath) is { } unusable)
            {
                throw unusable;
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
        if (StoredRecords.ReadSession(json, id, out string? problem) is { } session)
        {
            return session;
        }

        LogCorruptSession(id, problem!);
        return null;
    }

    /// <summary>A session from a row of (data, id); null (with a warning) when the row is corrupt.</summary>
    private SessionInfo? ReadSession(SqliteRows rows)
    {
        string? problem;
        if (StoredRecords.ReadSession(rows.Bytes(0), expectedId: null, out problem) is { } session)
        {
            if (System.Text.Ascii.Equals(rows.Bytes(1), session.Id))
            {
                return session;
            }

            problem = "the record holds another session than its key says";
        }

        LogCorruptSession(rows.String(1), problem!);
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
