using System.Data;
using System.Globalization;
using System.Runtime.CompilerServices;
using AgentCore.Storage;
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
public sealed partial class PostgreSqlSessionStore : ISessionStore, IAsyncDisposable, IDisposable
{
    private readonly PostgreSqlDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly ILogger _logger;
    private readonly StoredRowReader _rows;

    /// <summary>Creates a store on the database <paramref name="connectionString"/> points to.</summary>
    /// <param name="connectionString">An Npgsql connection string; the store builds and owns a data source from it.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is null, empty or white space.</exception>
    public PostgreSqlSessionStore(string connectionString, ILogger<PostgreSqlSessionStore>? logger = null)
        : this(PostgreSqlDatabase.Create(connectionString), ownsDatabase: true, logger)
    {
    }

    /// <summary>Creates a store on <paramref name="dataSource"/>, which stays the caller's to dispose.</summary>
    /// <param name="dataSource">The data source to open connections from; not disposed by the store.</param>
    /// <param name="logger">The logger; null for none.</param>
    public PostgreSqlSessionStore(NpgsqlDataSource dataSource, ILogger<PostgreSqlSessionStore>? logger = null)
        : this(PostgreSqlDatabase.On(dataSource), ownsDatabase: true, logger)
    {
    }

    internal PostgreSqlSessionStore(PostgreSqlDatabase database, bool ownsDatabase, ILogger? logger)
    {
        _database = database;
        _ownsDatabase = ownsDatabase;
        _logger = logger ?? NullLogger<PostgreSqlSessionStore>.Instance;
        _rows = new StoredRowReader(_logger);
    }

    /// <summary>
    /// Creates the tables or brings them up to date. Idempotent and safe to run from several instances at once;
    /// every other method calls it first, so calling it is only needed to migrate at start-up.
    /// </summary>
    /// <param name="cancellationToken">Cancels the migration (a migration cut short rolls back).</param>
    /// <returns>A task that completes when the schema is current.</returns>
    /// <exception cref="InvalidOperationException">The database was migrated by a newer version of this package.</exception>
    public ValueTask MigrateAsync(CancellationToken cancellationToken = default) => _database.MigrateAsync(_logger, cancellationToken);

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> GetSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT data FROM agentcore_sessions WHERE id = $1", connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue(sessionId);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? ReadSession(sessionId, json) : null;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads the sessions' JSON as UTF-8, in creation order from the index (<c>enable_sort</c> off for the read's
    /// transaction: for a whole table the planner would rather sort, which costs several times the ordered scan).
    /// </remarks>
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SET LOCAL enable_sort = off"),
                new NpgsqlBatchCommand("SELECT data, id FROM agentcore_sessions ORDER BY created_at DESC, id DESC"),
            },
        };
        await using var batchScope = batch.ConfigureAwait(false);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            var row = new NpgsqlRow(reader, new NpgsqlRow.Buffers());
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_rows.Session(row) is { } session)
                {
                    yield return session;
                }
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask SaveSessionAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateSession(session);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
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
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var found = new List<SessionInfo>();
        var buffers = new NpgsqlRow.Buffers();
        (DateTime CreatedAt, string Id)? after = query.After is { } cursor ? (cursor.CreatedAt.UtcDateTime, cursor.SessionId) : null;
        while (true)
        {
            int wanted = query.PageSize + 1 - found.Count;
            var command = PostgreSqlQueries.ListCommand(query, after, wanted);
            await using var commandScope = command.ConfigureAwait(false);
            command.Connection = connection;
            command.Transaction = transaction;
            int read = 0;
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    read++;
                    after = (reader.GetDateTime(2), reader.GetString(1));
                    if (_rows.Session(new NpgsqlRow(reader, buffers)) is { } session && query.Matches(session))
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
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        ArgumentNullException.ThrowIfNull(update);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        SessionInfo? current;
        var select = new NpgsqlCommand("SELECT data FROM agentcore_sessions WHERE id = $1 FOR UPDATE", connection, transaction);
        await using (select.ConfigureAwait(false))
        {
            select.Parameters.AddWithValue(sessionId);
            current = await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json ? ReadSession(sessionId, json) : null;
        }

        if (current is null)
        {
            return null;
        }

        if (StoredRecords.ApplyUpdate(current, update) is not { } changed)
        {
            return current;
        }

        await UpsertSessionAsync(connection, changed, transaction, withMetadata: !StoredValues.SameListingKeys(current, changed), cancellationToken).ConfigureAwait(false);
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
        var batch = new NpgsqlBatch(connection, transaction);
        await using var batchScope = batch.ConfigureAwait(false);
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
    internal static void AddReplaceMetadata(NpgsqlBatch batch, SessionInfo session)
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
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        // One batch runs as one implicit transaction. The stamp's row says nothing of whether the session was there.
        var stamp = Command("DELETE FROM agentcore_message_stamps WHERE session_id = $1", sessionId);
        var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("DELETE FROM agentcore_parts WHERE session_id = $1", sessionId),
                Command("DELETE FROM agentcore_messages WHERE session_id = $1", sessionId),
                Command("DELETE FROM agentcore_session_metadata WHERE session_id = $1", sessionId),
                Command("DELETE FROM agentcore_sessions WHERE id = $1", sessionId),
                stamp,
            },
        };
        await using var batchScope = batch.ConfigureAwait(false);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return batch.BatchCommands.Cast<NpgsqlBatchCommand>().Any(c => c != stamp && c.RecordsAffected > 0);
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
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("DELETE FROM agentcore_parts WHERE session_id = $1 AND message_id = ANY($2)", sessionId, ids),
                Command("DELETE FROM agentcore_messages WHERE session_id = $1 AND id = ANY($2)", sessionId, ids),
                NewStamp(sessionId),
            },
        };
        await using var batchScope = batch.ConfigureAwait(false);
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
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var transactionScope = transaction.ConfigureAwait(false);
        var messages = await ReadMessagesAsync(connection, transaction, sessionId, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return messages;
    }

    /// <inheritdoc />
    public async ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateMessage(message);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection); // one batch runs as one implicit transaction
        await using var batchScope = batch.ConfigureAwait(false);
        AddWriteMessage(batch, message);
        batch.BatchCommands.Add(NewStamp(message.SessionId));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Writes the one part's row, and the message's own fields where they changed, in one batch (one round trip, one
    /// transaction). With <paramref name="appendedText"/>, only the new text is sent and appended in the database.
    /// </remarks>
    public async ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidatePart(message, part);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection) { BatchCommands = { UpsertHeader(message) } };
        await using var batchScope = batch.ConfigureAwait(false);
        AddPartChange(batch, message, part, appendedText);
        batch.BatchCommands.Add(NewStamp(message.SessionId));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One batch: one round trip and one transaction, so after a crash either every change is stored or none is. The
    /// message's own fields are written only where they changed (an unchanged row gets no new version); each appended
    /// text sends only the new text, appended in the database; every other change writes its part's row.
    /// </remarks>
    public async ValueTask SavePartsAsync(SessionMessage message, IReadOnlyList<MessagePartChange> changes, CancellationToken cancellationToken = default)
    {
        StoredRecords.ValidateParts(message, changes);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection) { BatchCommands = { UpsertHeader(message) } };
        await using var batchScope = batch.ConfigureAwait(false);
        foreach (var change in changes)
        {
            AddPartChange(batch, message, change.Part, change.AppendedText);
        }

        batch.BatchCommands.Add(NewStamp(message.SessionId));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// One primary-key lookup: a number set from a sequence in the same transaction as every write or delete of the
    /// session's messages, by any instance; <c>"0"</c> while none was written (or after the session was deleted).
    /// </remarks>
    public async ValueTask<string?> GetMessagesStampAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        AgentCoreIds.ThrowIfInvalidSessionId(sessionId);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT stamp FROM agentcore_message_stamps WHERE session_id = $1", connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue(sessionId);
        object? stamp = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return stamp is long value ? value.ToString(CultureInfo.InvariantCulture) : "0";
    }

    /// <summary>
    /// Adds the commands that store one changed part: the part whole, or — with <paramref name="appendedText"/> for a text or
    /// reasoning part — the append of the new text, plus the part whole where the append found no stored text.
    /// </summary>
    private static void AddPartChange(NpgsqlBatch batch, SessionMessage message, MessagePart part, string? appendedText)
    {
        if (StoredParts.AppendableText(part, appendedText) is not { } appended)
        {
            batch.BatchCommands.Add(UpsertPart(message, part));
            return;
        }

        // For a part not stored yet (or stored without text) the part whole follows the append; a part the append reached is
        // left as the append made it.
        var append = Command(
            "UPDATE agentcore_parts SET text = text || $4 WHERE session_id = $1 AND message_id = $2 AND id = $3 AND text IS NOT NULL",
            message.SessionId, message.Id, part.Id);
        append.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = appended });
        batch.BatchCommands.Add(append);
        batch.BatchCommands.Add(UpsertPart(message, part, onlyWithoutText: true));
    }

    /// <summary>
    /// The command that gives the session's messages a new stamp (<see cref="GetMessagesStampAsync"/>); added last to every
    /// batch that writes or deletes messages or parts, so it commits with them.
    /// </summary>
    /// <remarks>
    /// A plain update of the stored row first, the insert (with <c>ON CONFLICT</c> for a concurrent first write) only when there
    /// is none: an <c>ON CONFLICT DO UPDATE</c> of an existing row writes a row lock to the WAL before the update itself.
    /// </remarks>
    private static NpgsqlBatchCommand NewStamp(string sessionId) => Command("""
        WITH updated AS (
            UPDATE agentcore_message_stamps SET stamp = nextval('agentcore_message_stamp_sequence') WHERE session_id = $1 RETURNING 1)
        INSERT INTO agentcore_message_stamps (session_id, stamp)
        SELECT $1, nextval('agentcore_message_stamp_sequence') WHERE NOT EXISTS (SELECT 1 FROM updated)
        ON CONFLICT (session_id) DO UPDATE SET stamp = excluded.stamp
        """, sessionId);

    /// <summary>
    /// Inserts or replaces a part whole; a new part goes after the message's others. With <paramref name="onlyWithoutText"/>,
    /// a stored part is replaced only when it has no text (the append before it in the batch did not reach it).
    /// </summary>
    private static NpgsqlBatchCommand UpsertPart(SessionMessage message, MessagePart part, bool onlyWithoutText = false)
    {
        var (type, json, text) = StoredParts.Split(part);
        // A stored part is updated in place (no row lock written to the WAL, as ON CONFLICT DO UPDATE would); a new one is
        // inserted, with ON CONFLICT for a concurrent insert of the same part.
        var upsert = Command($"""
            WITH updated AS (
                UPDATE agentcore_parts SET type = $4, data = $5, text = $6
                WHERE session_id = $1 AND message_id = $2 AND id = $3{(onlyWithoutText ? " AND text IS NULL" : "")})
            INSERT INTO agentcore_parts (session_id, message_id, id, position, type, data, text)
            SELECT $1, $2, $3,
                   (SELECT COALESCE(MAX(position) + 1, 0) FROM agentcore_parts WHERE session_id = $1 AND message_id = $2),
                   $4, $5, $6
            WHERE NOT EXISTS (SELECT 1 FROM agentcore_parts WHERE session_id = $1 AND message_id = $2 AND id = $3)
            ON CONFLICT (session_id, message_id, id) DO UPDATE SET type = excluded.type, data = excluded.data, text = excluded.text
            {(onlyWithoutText ? "WHERE agentcore_parts.text IS NULL" : "")}
            """, message.SessionId, message.Id, part.Id, type);
        upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)json ?? DBNull.Value });
        upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)text ?? DBNull.Value });
        return upsert;
    }

    /// <summary>Closes the store's connections when it created its own data source.</summary>
    /// <returns>A task that completes when the connections are closed.</returns>
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
    /// <remarks>
    /// Rows already stored as they are (a message completed after its parts were saved one by one) are not written again
    /// (no new row version, no index entry): only changed or new parts are, and only parts the message no longer has are deleted.
    /// </remarks>
    internal static void AddWriteMessage(NpgsqlBatch batch, SessionMessage message)
    {
        batch.BatchCommands.Add(UpsertHeader(message));
        var delete = Command("DELETE FROM agentcore_parts WHERE session_id = $1 AND message_id = $2 AND NOT (id = ANY($3))", message.SessionId, message.Id);
        delete.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = message.Parts.Select(static p => p.Id).ToArray() });
        batch.BatchCommands.Add(delete);
        for (int i = 0; i < message.Parts.Count; i++)
        {
            var (type, json, text) = StoredParts.Split(message.Parts[i]);
            var insert = Command(
                """
                INSERT INTO agentcore_parts (session_id, message_id, id, position, type, data, text) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (session_id, message_id, id) DO UPDATE SET position = excluded.position, type = excluded.type, data = excluded.data, text = excluded.text
                WHERE (agentcore_parts.position, agentcore_parts.type, agentcore_parts.data, agentcore_parts.text)
                      IS DISTINCT FROM (excluded.position, excluded.type, excluded.data, excluded.text)
                """,
                message.SessionId, message.Id, message.Parts[i].Id, i, type);
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)json ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)text ?? DBNull.Value });
            batch.BatchCommands.Add(insert);
        }
    }

    /// <summary>
    /// Inserts or updates a message's own fields (every column but the parts); a row whose fields are all unchanged is left
    /// as it is (no new row version), so a part save that does not change the message writes only the part.
    /// </summary>
    private static NpgsqlBatchCommand UpsertHeader(SessionMessage message)
    {
        // A stored row is updated in place only when a field changed, without a row lock in the WAL (ON CONFLICT DO UPDATE locks
        // the row it finds, changed or not); a new message is inserted, with ON CONFLICT for a concurrent insert of the same one.
        var command = new NpgsqlBatchCommand("""
            WITH updated AS (
                UPDATE agentcore_messages SET
                    role = $3, created_at = $4, created_at_extra_ticks = $5, completed_at = $6, completed_at_extra_ticks = $7,
                    provider_id = $8, model_id = $9, input_tokens = $10, output_tokens = $11, reasoning_tokens = $12,
                    cache_read_tokens = $13, cache_write_tokens = $14, cost = $15, is_summary = $16, summarized_through = $17,
                    finish_reason = $18, error = $19
                WHERE session_id = $1 AND id = $2
                  AND (role, created_at, created_at_extra_ticks, completed_at, completed_at_extra_ticks, provider_id, model_id,
                       input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens, cost, is_summary,
                       summarized_through, finish_reason, error)
                      IS DISTINCT FROM ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19))
            INSERT INTO agentcore_messages (session_id, id, role, created_at, created_at_extra_ticks, completed_at, completed_at_extra_ticks,
                                            provider_id, model_id, input_tokens, output_tokens, reasoning_tokens, cache_read_tokens,
                                            cache_write_tokens, cost, is_summary, summarized_through, finish_reason, error)
            SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19
            WHERE NOT EXISTS (SELECT 1 FROM agentcore_messages WHERE session_id = $1 AND id = $2)
            ON CONFLICT (session_id, id) DO UPDATE SET
                role = excluded.role, created_at = excluded.created_at, created_at_extra_ticks = excluded.created_at_extra_ticks,
                completed_at = excluded.completed_at, completed_at_extra_ticks = excluded.completed_at_extra_ticks,
                provider_id = excluded.provider_id, model_id = excluded.model_id, input_tokens = excluded.input_tokens,
                output_tokens = excluded.output_tokens, reasoning_tokens = excluded.reasoning_tokens,
                cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost,
                is_summary = excluded.is_summary, summarized_through = excluded.summarized_through, finish_reason = excluded.finish_reason,
                error = excluded.error
            WHERE (agentcore_messages.role, agentcore_messages.created_at, agentcore_messages.created_at_extra_ticks, agentcore_messages.completed_at,
                   agentcore_messages.completed_at_extra_ticks, agentcore_messages.provider_id, agentcore_messages.model_id,
                   agentcore_messages.input_tokens, agentcore_messages.output_tokens, agentcore_messages.reasoning_tokens,
                   agentcore_messages.cache_read_tokens, agentcore_messages.cache_write_tokens, agentcore_messages.cost,
                   agentcore_messages.is_summary, agentcore_messages.summarized_through, agentcore_messages.finish_reason, agentcore_messages.error)
                  IS DISTINCT FROM
                  (excluded.role, excluded.created_at, excluded.created_at_extra_ticks, excluded.completed_at, excluded.completed_at_extra_ticks,
                   excluded.provider_id, excluded.model_id, excluded.input_tokens, excluded.output_tokens, excluded.reasoning_tokens,
                   excluded.cache_read_tokens, excluded.cache_write_tokens, excluded.cost, excluded.is_summary, excluded.summarized_through,
                   excluded.finish_reason, excluded.error)
            """);
        var (created, createdExtra) = SplitTime(message.CreatedAt);
        var completed = message.CompletedAt is { } completedAt ? SplitTime(completedAt) : default((DateTime, short)?);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = message.SessionId });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = message.Id });
        p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = StoredValues.RoleValue(message.Role) });
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

    /// <summary>
    /// The messages of a session and their parts, from two ordered scans in one round trip (the id columns collate as
    /// "C", byte by byte); call inside a repeatable-read transaction. Corrupt rows are skipped with a warning.
    /// </summary>
    /// <remarks>
    /// <para>The columns are those of <see cref="StoredRowReader.MessageColumns"/> (see <see cref="NpgsqlMessageRow"/>, which
    /// turns each time and its extra ticks into UTC ticks as the SQLite store keeps them), then the extra ticks and whether
    /// each time is one (finite, its extra ticks in range). The server sends the times as they are stored: computing ticks
    /// there takes numeric arithmetic, most of the query's time.</para>
    /// <para>Both scans read their index in order: sorting instead is what the planner picks for a large part of a table,
    /// and costs several times the scan (<c>enable_sort</c> is off for this transaction only).</para>
    /// </remarks>
    private async Task<List<SessionMessage>> ReadMessagesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string sessionId, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SET LOCAL enable_sort = off"),
                Command("""
                    SELECT id, role, created_at, completed_at,
                           provider_id, model_id, input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, cache_write_tokens,
                           cost::text, is_summary::int::bigint, summarized_through, finish_reason, error,
                           created_at_extra_ticks, completed_at_extra_ticks,
                           isfinite(created_at) AND created_at_extra_ticks BETWEEN 0 AND 9,
                           isfinite(completed_at) AND completed_at_extra_ticks BETWEEN 0 AND 9
                    FROM agentcore_messages WHERE session_id = $1 ORDER BY id
                    """, sessionId),
                Command($"SELECT {StoredRowReader.PartColumns} FROM agentcore_parts WHERE session_id = $1 ORDER BY message_id, position, id", sessionId),
            },
        };
        await using var batchScope = batch.ConfigureAwait(false);
        var read = _rows.Messages(sessionId);
        var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        var buffers = new NpgsqlRow.Buffers();
        var messageRow = new NpgsqlMessageRow(reader, buffers);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            read.AddMessage(messageRow);
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var row = new NpgsqlRow(reader, buffers);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && read.AddPart(row))
        {
        }

        return read.Messages;
    }

    internal static NpgsqlBatchCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (object value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private SessionInfo? ReadSession(string id, string json) => _rows.Session(id, json);
}
