using System.Data;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace AgentCore;

/// <summary>
/// An <see cref="ISessionStore"/> in a PostgreSQL database, shared by any number of app instances.
/// </summary>
/// <remarks>
/// <para>Tables (prefixed <c>agentcore_</c>, so they can live beside the app's own): <c>agentcore_sessions</c> (the
/// session as JSON, with creation time, parent and the token and cost totals as indexed or queryable columns),
/// <c>agentcore_messages</c> (a message's own fields, a column each) and <c>agentcore_parts</c> (one row a part: its
/// type, its JSON — none for text and reasoning parts — and streamed text in its own <c>bytea</c> column, so an append
/// sends and updates only the new text of one part) and <c>agentcore_session_metadata</c> (a session's metadata, a row a
/// key, for filtered listings). The schema version is kept in <c>agentcore_schema_version</c>;
/// migrations run on first use, one instance at a time under an advisory lock.</para>
/// <para>Every write is one transaction; a session's messages are read in one repeatable-read snapshot, so a reader never
/// sees half a write. A corrupt row is skipped with a warning. Times round-trip exactly: sessions' from their JSON,
/// messages' as <c>timestamptz</c> plus the 100 ns ticks below the microsecond (as UTC instants).</para>
/// </remarks>
public sealed partial class PostgresSessionStore : ISessionStore, IAsyncDisposable, IDisposable
{
    private readonly PostgresDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly ILogger _logger;

    /// <summary>Creates a store on the database <paramref name="connectionString"/> points to.</summary>
    public PostgresSessionStore(string connectionString, ILogger<PostgresSessionStore>? logger = null)
        : this(new PostgresDatabase(NpgsqlDataSource.Create(ValidConnectionString(connectionString)), ownsDataSource: true), ownsDatabase: true, logger)
    {
    }

    /// <summary>Creates a store on <paramref name="dataSource"/>, which stays the caller's to dispose.</summary>
    public PostgresSessionStore(NpgsqlDataSource dataSource, ILogger<PostgresSessionStore>? logger = null)
        : this(new PostgresDatabase(dataSource ?? throw new ArgumentNullException(nameof(dataSource)), ownsDataSource: false), ownsDatabase: true, logger)
    {
    }

    internal PostgresSessionStore(PostgresDatabase database, bool ownsDatabase, ILogger? logger)
    {
        _database = database;
        _ownsDatabase = ownsDatabase;
        _logger = logger ?? NullLogger<PostgresSessionStore>.Instance;
    }

    /// <summary>
    /// Creates the tables or brings them up to date. Idempotent and safe to run from several instances at once;
    /// every other method calls it first, so calling it is only needed to migrate at start-up.
    /// </summary>
    /// <exception cref="InvalidOperationException">The database was migrated by a newer version of this package.</exception>
    public ValueTask MigrateAsync(CancellationToken cancellationToken = default) => _database.MigrateAsync(_logger, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT data FROM agentcore_sessions WHERE id = $1", connection);
        command.Parameters.AddWithValue(sessionId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? ReadSession(sessionId, json) : null;
    }

    /// <inheritdoc />
    /// <remarks>Reads the sessions' JSON as UTF-8, in creation order from the index.</remarks>
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT data, id FROM agentcore_sessions ORDER BY created_at DESC, id DESC", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new Utf8Buffer();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ReadSession(reader, buffer) is { } session)
            {
                yield return session;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateSession(session);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await UpsertSessionAsync(connection, session, transaction: null, withMetadata: true, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Runs in the database, from indexes: with a metadata filter, from <c>agentcore_session_metadata</c>'s (key, value,
    /// creation time, id) index, which holds one owner's sessions already in listing order, so the read stops after the
    /// page; with a parent, from the parent's index; otherwise from the newest-first index. The update-time bounds are
    /// applied in SQL to the microsecond (the column's precision) and to the tick on the parsed rows, which are all
    /// checked again against <see cref="SessionQuery.Matches"/>.
    /// </remarks>
    public async ValueTask<SessionPage> ListSessionsAsync(SessionQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var found = new List<SessionInfo>();
        var buffer = new Utf8Buffer();
        (DateTime CreatedAt, string Id)? after = query.After is { } cursor ? (cursor.CreatedAt.UtcDateTime, cursor.SessionId) : null;
        while (true)
        {
            int wanted = query.PageSize + 1 - found.Count;
            await using var command = PostgresQueries.ListCommand(query, after, wanted);
            command.Connection = connection;
            command.Transaction = transaction;
            int read = 0;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    read++;
                    after = (reader.GetDateTime(2), reader.GetString(1));
                    if (ReadSession(reader, buffer) is { } session && query.Matches(session))
                    {
                        found.Add(session);
                    }
                }
            }

            // Fewer rows than asked: the listing is done. Otherwise a row was skipped (corrupt, or inside the microsecond
            // of an update-time bound): read on from it.
            if (read < wanted || found.Count > query.PageSize)
            {
                break;
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return SessionPages.Of(found, query.PageSize);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Atomic across connections and instances: the row is read <c>FOR UPDATE</c> and written in one transaction, so a
    /// concurrent update waits for this one and then reads its result.
    /// </remarks>
    public async ValueTask<SessionInfo?> UpdateSessionAsync(string sessionId, Func<SessionInfo, SessionInfo> update, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        ArgumentNullException.ThrowIfNull(update);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        SessionInfo? current;
        await using (var select = new NpgsqlCommand("SELECT data FROM agentcore_sessions WHERE id = $1 FOR UPDATE", connection, transaction))
        {
            select.Parameters.AddWithValue(sessionId);
            current = await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? ReadSession(sessionId, json) : null;
        }

        if (current is null)
        {
            return null;
        }

        if (StoredRecords.Updated(current, update) is not { } changed)
        {
            return current;
        }

        await UpsertSessionAsync(connection, changed, transaction, withMetadata: !StoredRecords.SameListingKeys(current, changed), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <summary>
    /// Upserts the session's row and, when <paramref name="withMetadata"/>, writes its metadata rows in place of those
    /// stored before: one batch, so one transaction even without <paramref name="transaction"/>.
    /// </summary>
    private static async Task UpsertSessionAsync(
        NpgsqlConnection connection, SessionInfo session, NpgsqlTransaction? transaction, bool withMetadata, CancellationToken cancellationToken)
    {
        string json = StoredRecords.SerializeSession(session);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var command = new NpgsqlBatchCommand("""
            INSERT INTO agentcore_sessions (id, parent_id, created_at, updated_at, input_tokens, output_tokens, reasoning_tokens,
                                            cache_read_tokens, cache_write_tokens, cost, data)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (id) DO UPDATE SET
                parent_id = excluded.parent_id, created_at = excluded.created_at, updated_at = excluded.updated_at,
                input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
                reasoning_tokens = excluded.reasoning_tokens, cache_read_tokens = excluded.cache_read_tokens,
                cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost, data = excluded.data
            """);
        batch.BatchCommands.Add(command);
        command.Parameters.AddWithValue(session.Id);
        command.Parameters.AddWithValue(NpgsqlDbType.Text, (object?)session.ParentId ?? DBNull.Value);
        command.Parameters.AddWithValue(session.CreatedAt.ToUniversalTime());
        command.Parameters.AddWithValue(session.UpdatedAt.ToUniversalTime());
        command.Parameters.AddWithValue(session.Tokens.Input);
        command.Parameters.AddWithValue(session.Tokens.Output);
        command.Parameters.AddWithValue(session.Tokens.Reasoning);
        command.Parameters.AddWithValue(session.Tokens.CacheRead);
        command.Parameters.AddWithValue(session.Tokens.CacheWrite);
        command.Parameters.AddWithValue(session.Cost);
        command.Parameters.AddWithValue(json);
        if (withMetadata)
        {
            AddReplaceMetadata(batch, session);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the commands that write <paramref name="session"/>'s metadata rows in place of those stored before.</summary>
    private static void AddReplaceMetadata(NpgsqlBatch batch, SessionInfo session)
    {
        batch.BatchCommands.Add(Command("DELETE FROM agentcore_session_metadata WHERE session_id = $1", session.Id));
        if (session.Metadata.Count > 0)
        {
            batch.BatchCommands.Add(Command("""
                INSERT INTO agentcore_session_metadata (session_id, key, value, created_at)
                SELECT $1, key, value, $4 FROM unnest($2::text[], $3::text[]) AS pairs (key, value)
                """,
                session.Id, session.Metadata.Keys.ToArray(), session.Metadata.Values.ToArray(), session.CreatedAt.ToUniversalTime()));
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // One batch runs as one implicit transaction.
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("DELETE FROM agentcore_parts WHERE session_id = $1", sessionId),
                Command("DELETE FROM agentcore_messages WHERE session_id = $1", sessionId),
                Command("DELETE FROM agentcore_session_metadata WHERE session_id = $1", sessionId),
                Command("DELETE FROM agentcore_sessions WHERE id = $1", sessionId),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return batch.BatchCommands.Cast<NpgsqlBatchCommand>().Any(static c => c.RecordsAffected > 0);
    }

    /// <inheritdoc />
    /// <remarks>One batch, so one transaction: every listed message goes, with its parts, or none does.</remarks>
    public async ValueTask<int> DeleteMessagesAsync(string sessionId, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessageIds(sessionId, messageIds);
        if (messageIds.Count == 0)
        {
            return 0;
        }

        string[] ids = messageIds.Distinct(StringComparer.Ordinal).ToArray();
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("DELETE FROM agentcore_parts WHERE session_id = $1 AND message_id = ANY($2)", sessionId, ids),
                Command("DELETE FROM agentcore_messages WHERE session_id = $1 AND id = ANY($2)", sessionId, ids),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return batch.BatchCommands[1].RecordsAffected;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two ordered scans in one round trip and one repeatable-read snapshot: the messages' rows by id, then the parts' rows
    /// by message id and position, merged in order. No JSON is parsed but for parts other than text and reasoning.
    /// </remarks>
    public async ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var messages = await ReadMessagesAsync(connection, transaction, sessionId, _logger, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return messages;
    }

    /// <inheritdoc />
    public async ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessage(message);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection); // one batch runs as one implicit transaction
        AddWriteMessage(batch, message);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Updates the message's own fields and the one part's row in one transaction. With <paramref name="appendedText"/>,
    /// only the new text is sent and appended in the database.
    /// </remarks>
    public async ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidatePart(message, part);
        byte[]? appended = StoredRecords.AppendableText(part, appendedText);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (appended is null)
        {
            // A new or changed part: one batch (its own transaction) with the message's fields.
            await using var batch = new NpgsqlBatch(connection) { BatchCommands = { UpsertHeader(message), UpsertPart(message, part) } };
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var append = Command(
            "UPDATE agentcore_parts SET text = text || $4 WHERE session_id = $1 AND message_id = $2 AND id = $3 AND text IS NOT NULL",
            message.SessionId, message.Id, part.Id);
        append.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = appended });
        await using (var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { UpsertHeader(message), append } })
        {
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (append.RecordsAffected != 1)
        {
            // An append to a part not stored after all: store it whole (the fields were written above).
            await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { UpsertPart(message, part) } };
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inserts or replaces a part whole; a new part goes after the message's others.</summary>
    private static NpgsqlBatchCommand UpsertPart(SessionMessage message, MessagePart part)
    {
        var (type, json, text) = StoredRecords.SplitPart(part);
        var upsert = Command("""
            INSERT INTO agentcore_parts (session_id, message_id, id, position, type, data, text)
            VALUES ($1, $2, $3,
                    (SELECT COALESCE(MAX(position) + 1, 0) FROM agentcore_parts WHERE session_id = $1 AND message_id = $2),
                    $4, $5, $6)
            ON CONFLICT (session_id, message_id, id) DO UPDATE SET type = excluded.type, data = excluded.data, text = excluded.text
            """, message.SessionId, message.Id, part.Id, type);
        upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)json ?? DBNull.Value });
        upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)text ?? DBNull.Value });
        return upsert;
    }

    /// <summary>Closes the store's connections when it created its own data source.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsDatabase)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The same as <see cref="DisposeAsync"/>, for a container disposed synchronously (blocks until the connections are closed).</summary>
    public void Dispose() => SynchronousDisposal.Run(DisposeAsync);

    internal static string ValidConnectionString(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return connectionString;
    }

    private async ValueTask<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken).ConfigureAwait(false);
        return await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adds the commands that write a whole message to <paramref name="batch"/>: its own fields, and its parts in place of any stored before.</summary>
    internal static void AddWriteMessage(NpgsqlBatch batch, SessionMessage message)
    {
        batch.BatchCommands.Add(UpsertHeader(message));
        batch.BatchCommands.Add(Command("DELETE FROM agentcore_parts WHERE session_id = $1 AND message_id = $2", message.SessionId, message.Id));
        for (int i = 0; i < message.Parts.Count; i++)
        {
            var (type, json, text) = StoredRecords.SplitPart(message.Parts[i]);
            var insert = Command(
                "INSERT INTO agentcore_parts (session_id, message_id, id, position, type, data, text) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                message.SessionId, message.Id, message.Parts[i].Id, i, type);
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)json ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)text ?? DBNull.Value });
            batch.BatchCommands.Add(insert);
        }
    }

    /// <summary>Inserts or updates a message's own fields (every column but the parts).</summary>
    private static NpgsqlBatchCommand UpsertHeader(SessionMessage message)
    {
        var command = new NpgsqlBatchCommand("""
            INSERT INTO agentcore_messages (session_id, id, role, created_at, created_at_extra_ticks, completed_at, completed_at_extra_ticks,
                                            provider_id, model_id, input_tokens, output_tokens, reasoning_tokens, cache_read_tokens,
                                            cache_write_tokens, cost, is_summary, summarized_through, finish_reason, error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
            ON CONFLICT (session_id, id) DO UPDATE SET
                role = excluded.role, created_at = excluded.created_at, created_at_extra_ticks = excluded.created_at_extra_ticks,
                completed_at = excluded.completed_at, completed_at_extra_ticks = excluded.completed_at_extra_ticks,
                provider_id = excluded.provider_id, model_id = excluded.model_id, input_tokens = excluded.input_tokens,
                output_tokens = excluded.output_tokens, reasoning_tokens = excluded.reasoning_tokens,
                cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost,
                is_summary = excluded.is_summary, summarized_through = excluded.summarized_through, finish_reason = excluded.finish_reason,
                error = excluded.error
            """);
        var (created, createdExtra) = SplitTime(message.CreatedAt);
        var completed = message.CompletedAt is { } completedAt ? SplitTime(completedAt) : default((DateTime, short)?);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = message.SessionId });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = message.Id });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = StoredRecords.RoleValue(message.Role) });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = created });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Smallint, Value = createdExtra });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = completed is { } c1 ? c1.Item1 : DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Smallint, Value = completed is { } c2 ? c2.Item2 : DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)message.ProviderId ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)message.ModelId ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = message.Tokens.Input });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = message.Tokens.Output });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = message.Tokens.Reasoning });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = message.Tokens.CacheRead });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = message.Tokens.CacheWrite });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Numeric, Value = message.Cost });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Boolean, Value = message.IsSummary });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)message.SummarizedThrough ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)message.FinishReason ?? DBNull.Value });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)StoredRecords.SerializeError(message.Error) ?? DBNull.Value });
        return command;
    }

    /// <summary>A time as stored: the UTC instant to the microsecond (<c>timestamptz</c>) and the 100 ns ticks below it (0 to 9).</summary>
    private static (DateTime Microseconds, short ExtraTicks) SplitTime(DateTimeOffset time)
    {
        long ticks = time.UtcTicks;
        return (new DateTime(ticks - (ticks % 10), DateTimeKind.Utc), (short)(ticks % 10));
    }

    /// <summary>Joins what <see cref="SplitTime"/> split; null when the extra ticks are out of range.</summary>
    private static DateTimeOffset? JoinTime(DateTime microseconds, short extraTicks) =>
        extraTicks is >= 0 and <= 9 && microseconds.Ticks <= DateTime.MaxValue.Ticks - extraTicks
            ? new DateTimeOffset(microseconds.Ticks + extraTicks, TimeSpan.Zero)
            : null;

    /// <summary>
    /// The messages of a session and their parts;
    /// call inside a repeatable-read transaction. Corrupt rows are skipped with a warning.
    /// </summary>
    private static async Task<List<SessionMessage>> ReadMessagesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sessionId, ILogger logger,
        CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Command("""
                    SELECT id, role, created_at, created_at_extra_ticks, completed_at, completed_at_extra_ticks, provider_id, model_id,
                           input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens, cost, is_summary,
                           summarized_through, finish_reason, error
                    FROM agentcore_messages WHERE session_id = $1 ORDER BY id
                    """, sessionId),
                Command("SELECT message_id, id, type, data, text FROM agentcore_parts WHERE session_id = $1 ORDER BY message_id, position, id", sessionId),
            },
        };
        var messages = new List<SessionMessage>();
        var buffer = new Utf8Buffer();
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ReadMessage(reader, sessionId, buffer, logger) is { } message)
            {
                messages.Add(message);
            }
        }

        // Both scans are in id order (the id columns collate as "C", byte by byte): walk the messages along the parts
        // (parts of a corrupt or missing message are skipped).
        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        int at = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            string messageId = reader.GetString(0);
            int order = 0;
            while (at < messages.Count && (order = string.CompareOrdinal(messages[at].Id, messageId)) < 0)
            {
                at++;
            }

            if (at == messages.Count)
            {
                break;
            }

            if (order == 0 && ReadPart(reader, messages[at], buffer, logger) is { } part)
            {
                messages[at].Parts.Add(part);
            }
        }

        return messages;
    }

    /// <summary>A message's own fields from a row of the first scan; null (with a warning) when the row is corrupt.</summary>
    private static SessionMessage? ReadMessage(NpgsqlDataReader reader, string sessionId, Utf8Buffer buffer, ILogger logger)
    {
        string id = reader.GetString(0);
        // The id, the role and the values' ranges are StoredRecords.CheckMessage's to judge; here, what the columns hold.
        if (JoinTime(reader.GetFieldValue<DateTime>(2), reader.GetInt16(3)) is not { } createdAt)
        {
            LogCorruptMessage(logger, sessionId, id, "its creation time is not a time");
            return null;
        }

        DateTimeOffset? completedAt = null;
        if (!reader.IsDBNull(4) && (completedAt = reader.IsDBNull(5) ? null : JoinTime(reader.GetFieldValue<DateTime>(4), reader.GetInt16(5))) is null)
        {
            LogCorruptMessage(logger, sessionId, id, "its completion time is not a time");
            return null;
        }

        var message = new SessionMessage
        {
            Id = id,
            SessionId = sessionId,
            Role = StoredRecords.Role(reader.GetString(1)) ?? default,
            CreatedAt = createdAt,
            CompletedAt = completedAt,
            ProviderId = reader.IsDBNull(6) ? null : reader.GetString(6),
            ModelId = reader.IsDBNull(7) ? null : reader.GetString(7),
            Tokens = new TokenUsage(reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12)),
            Cost = reader.GetDecimal(13),
            IsSummary = reader.GetBoolean(14),
            SummarizedThrough = reader.IsDBNull(15) ? null : reader.GetString(15),
            FinishReason = reader.IsDBNull(16) ? null : reader.GetString(16),
        };
        string? problem = !reader.IsDBNull(17) && (message.Error = StoredRecords.DeserializeError(buffer.Read(reader, 17))) is null
            ? "its error is not an error"
            : StoredRecords.CheckMessage(message, sessionId, skippedParts: null);
        if (problem is null)
        {
            return message;
        }

        LogCorruptMessage(logger, sessionId, id, problem);
        return null;
    }

    /// <summary>A part from a row of the second scan; null (with a warning) when the row is corrupt.</summary>
    private static MessagePart? ReadPart(NpgsqlDataReader reader, SessionMessage message, Utf8Buffer buffer, ILogger logger)
    {
        string id = reader.GetString(1);
        string problem;
        if (!Identifier.IsValid(id, IdKind.Part))
        {
            problem = "its id is malformed";
        }
        else if (reader.IsDBNull(3))
        {
            if (StoredRecords.TextualPart(reader.GetString(2), id, reader.IsDBNull(4) ? "" : buffer.ReadString(reader, 4)) is { } textual)
            {
                return textual;
            }

            problem = "it has no JSON and is not a text or reasoning part";
        }
        else if (StoredRecords.ReadPart(buffer.Read(reader, 3), id, out string? bad) is { } part)
        {
            return part;
        }
        else
        {
            problem = bad!;
        }

        LogCorruptPart(logger, message.SessionId, message.Id, id, problem);
        return null;
    }

    /// <summary>
    /// Schema 2's data step: copies every message of schema 1's tables (<c>agentcore_messages_v1</c>, <c>agentcore_parts_v1</c>:
    /// JSON), read as schema 1 was read, into the new tables, one session at a time, then drops the old tables. Corrupt
    /// rows are skipped with a warning, as reading them did.
    /// </summary>
    internal static async Task CopySchema1MessagesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ILogger logger, CancellationToken cancellationToken)
    {
        var sessionIds = new List<string>();
        await using (var command = new NpgsqlCommand("SELECT DISTINCT session_id FROM agentcore_messages_v1", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
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
            await using (var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    Command("SELECT id, data FROM agentcore_messages_v1 WHERE session_id = $1 ORDER BY id", sessionId),
                    Command("SELECT message_id, id, data, text FROM agentcore_parts_v1 WHERE session_id = $1 ORDER BY message_id, position, id", sessionId),
                },
            })
            await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    string id = reader.GetString(0);
                    if (ReadHeaderV1(sessionId, id, reader.GetString(1), logger) is { } message)
                    {
                        messages.Add(message);
                        byId[id] = message;
                    }
                }

                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (byId.TryGetValue(reader.GetString(0), out var message)
                        && ReadPartV1(sessionId, message.Id, reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), logger) is { } part)
                    {
                        message.Parts.Add(part);
                    }
                }
            }

            foreach (var message in messages)
            {
                await using var write = new NpgsqlBatch(connection, transaction);
                AddWriteMessage(write, message);
                await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using var drop = new NpgsqlCommand("DROP TABLE agentcore_messages_v1; DROP TABLE agentcore_parts_v1;", connection, transaction);
        await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Schema 3's data step: writes the metadata rows of every stored session, read from its JSON as a read would (a
    /// corrupt session is skipped with a warning, and stays unlisted as before).
    /// </summary>
    internal static async Task CopyMetadataAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ILogger logger, CancellationToken cancellationToken)
    {
        var sessions = new List<SessionInfo>();
        await using (var command = new NpgsqlCommand("SELECT id, data FROM agentcore_sessions", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string id = reader.GetString(0);
                if (StoredRecords.ReadSession(reader.GetString(1), id, out string? problem) is { } session)
                {
                    if (session.Metadata.Count > 0)
                    {
                        sessions.Add(session);
                    }
                }
                else
                {
                    LogCorruptSession(logger, id, problem!);
                }
            }
        }

        foreach (var session in sessions)
        {
            await using var batch = new NpgsqlBatch(connection, transaction);
            AddReplaceMetadata(batch, session);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (object value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private SessionInfo? ReadSession(string id, string json)
    {
        if (StoredRecords.ReadSession(json, id, out string? problem) is { } session)
        {
            return session;
        }

        LogCorruptSession(_logger, id, problem!);
        return null;
    }

    /// <summary>A session from a row of (data, id); null (with a warning) when the row is corrupt.</summary>
    private SessionInfo? ReadSession(NpgsqlDataReader reader, Utf8Buffer buffer)
    {
        string id = reader.GetString(1);
        if (StoredRecords.ReadSession(buffer.Read(reader, 0), id, out string? problem) is { } session)
        {
            return session;
        }

        LogCorruptSession(_logger, id, problem!);
        return null;
    }

    private static SessionMessage? ReadHeaderV1(string sessionId, string id, string json, ILogger logger)
    {
        var message = StoredRecords.ReadHeaderV1(json, sessionId, id, out string? problem);
        if (message is null)
        {
            LogCorruptMessage(logger, sessionId, id, problem!);
        }

        return message;
    }

    private static MessagePart? ReadPartV1(string sessionId, string messageId, string id, string json, byte[]? text, ILogger logger)
    {
        var part = StoredRecords.ReadPartV1(json, text, id, out string? problem);
        if (part is null)
        {
            LogCorruptPart(logger, sessionId, messageId, id, problem!);
        }

        return part;
    }

    /// <summary>Reads text and bytea columns as raw bytes into one reused buffer, so JSON parses from UTF-8 without a string in between.</summary>
    private sealed class Utf8Buffer
    {
        private byte[] _bytes = new byte[4096];

        /// <summary>The raw bytes of column <paramref name="ordinal"/> (UTF-8 for text); valid until the next read.</summary>
        public ReadOnlySpan<byte> Read(NpgsqlDataReader reader, int ordinal)
        {
            using var stream = reader.GetStream(ordinal);
            int length = checked((int)stream.Length);
            if (_bytes.Length < length)
            {
                _bytes = new byte[Math.Max(length, _bytes.Length * 2)];
            }

            stream.ReadExactly(_bytes, 0, length);
            return _bytes.AsSpan(0, length);
        }

        /// <summary>Column <paramref name="ordinal"/>'s bytes decoded as UTF-8.</summary>
        public string ReadString(NpgsqlDataReader reader, int ordinal) => Encoding.UTF8.GetString(Read(reader, ordinal));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt session {SessionId}: {Reason}")]
    private static partial void LogCorruptSession(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt message {MessageId} of session {SessionId}: {Reason}")]
    private static partial void LogCorruptMessage(ILogger logger, string sessionId, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt part {PartId} of message {MessageId} of session {SessionId}: {Reason}")]
    private static partial void LogCorruptPart(ILogger logger, string sessionId, string messageId, string partId, string reason);
}
