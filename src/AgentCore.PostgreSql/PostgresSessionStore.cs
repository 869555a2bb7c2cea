using System.Data;
using System.Runtime.CompilerServices;
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
/// <c>agentcore_messages</c> (a message's own fields) and <c>agentcore_parts</c> (one row a part; streamed text in its
/// own <c>bytea</c> column, so an append sends and updates only the new text of one part). The schema version is kept
/// in <c>agentcore_schema_version</c>; migrations run on first use, one instance at a time under an advisory lock.</para>
/// <para>Every write is one transaction; a message is read in one repeatable-read snapshot, so a reader never sees
/// half a write. A corrupt row is skipped with a warning. Times round-trip exactly (the JSON is what reads return;
/// the <c>timestamptz</c> columns, to the microsecond, serve ordering and queries).</para>
/// </remarks>
public sealed partial class PostgresSessionStore : ISessionStore, IAsyncDisposable
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
    public async IAsyncEnumerable<SessionInfo> ListSessionsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("SELECT id, data FROM agentcore_sessions ORDER BY created_at DESC, id DESC", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ReadSession(reader.GetString(0), reader.GetString(1)) is { } session)
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
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            INSERT INTO agentcore_sessions (id, parent_id, created_at, updated_at, input_tokens, output_tokens, reasoning_tokens,
                                            cache_read_tokens, cache_write_tokens, cost, data)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (id) DO UPDATE SET
                parent_id = excluded.parent_id, created_at = excluded.created_at, updated_at = excluded.updated_at,
                input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,
                reasoning_tokens = excluded.reasoning_tokens, cache_read_tokens = excluded.cache_read_tokens,
                cache_write_tokens = excluded.cache_write_tokens, cost = excluded.cost, data = excluded.data
            """, connection);
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
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
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
                Command("DELETE FROM agentcore_sessions WHERE id = $1", sessionId),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return batch.BatchCommands.Cast<NpgsqlBatchCommand>().Any(static c => c.RecordsAffected > 0);
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyList<SessionMessage>> GetMessagesAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        Identifier.Validate(sessionId, IdKind.Session, nameof(sessionId));
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        // Repeatable read: the messages and their parts come from the same snapshot.
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Command("SELECT id, data FROM agentcore_messages WHERE session_id = $1 ORDER BY id", sessionId),
                Command("SELECT message_id, id, data, text FROM agentcore_parts WHERE session_id = $1 ORDER BY message_id, position, id", sessionId),
            },
        };
        var messages = new List<SessionMessage>();
        var byId = new Dictionary<string, SessionMessage>(StringComparer.Ordinal);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string id = reader.GetString(0);
                if (ReadHeader(sessionId, id, reader.GetString(1)) is { } message)
                {
                    messages.Add(message);
                    byId[id] = message;
                }
            }

            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                string messageId = reader.GetString(0);
                if (!byId.TryGetValue(messageId, out var message))
                {
                    continue; // The message row is corrupt (already reported) or gone.
                }

                byte[]? text = reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3);
                if (ReadPart(sessionId, messageId, reader.GetString(1), reader.GetString(2), text) is { } part)
                {
                    message.Parts.Add(part);
                }
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return messages;
    }

    /// <inheritdoc />
    public async ValueTask SaveMessageAsync(SessionMessage message, CancellationToken cancellationToken = default)
    {
        ValidateMessage(message);
        string header = StoredRecords.SerializeHeader(message);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(UpsertHeader(message, header));
        batch.BatchCommands.Add(Command("DELETE FROM agentcore_parts WHERE session_id = $1 AND message_id = $2", message.SessionId, message.Id));
        for (int i = 0; i < message.Parts.Count; i++)
        {
            var (json, text) = StoredRecords.SplitPart(message.Parts[i]);
            var insert = Command(
                "INSERT INTO agentcore_parts (session_id, message_id, id, position, data, text) VALUES ($1, $2, $3, $4, $5, $6)",
                message.SessionId, message.Id, message.Parts[i].Id, i, json);
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)text ?? DBNull.Value });
            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Updates the message's own fields and the one part's row in one transaction. With <paramref name="appendedText"/>,
    /// only the new text is sent and appended in the database.
    /// </remarks>
    public async ValueTask SavePartAsync(SessionMessage message, MessagePart part, string? appendedText = null, CancellationToken cancellationToken = default)
    {
        ValidateMessage(message);
        ArgumentNullException.ThrowIfNull(part);
        Identifier.Validate(part.Id, IdKind.Part, nameof(part));
        string header = StoredRecords.SerializeHeader(message);
        byte[]? appended = StoredRecords.AppendableText(part, appendedText);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (appended is not null)
        {
            var append = Command(
                "UPDATE agentcore_parts SET text = text || $4 WHERE session_id = $1 AND message_id = $2 AND id = $3 AND text IS NOT NULL",
                message.SessionId, message.Id, part.Id);
            append.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = appended });
            await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { UpsertHeader(message, header), append } };
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (append.RecordsAffected == 1)
            {
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
        }

        // A new or changed part (or an append to a part not stored after all): store it whole, new parts last.
        var (json, text) = StoredRecords.SplitPart(part);
        var upsert = Command("""
            INSERT INTO agentcore_parts (session_id, message_id, id, position, data, text)
            VALUES ($1, $2, $3,
                    (SELECT COALESCE(MAX(position) + 1, 0) FROM agentcore_parts WHERE session_id = $1 AND message_id = $2),
                    $4, $5)
            ON CONFLICT (session_id, message_id, id) DO UPDATE SET data = excluded.data, text = excluded.text
            """, message.SessionId, message.Id, part.Id, json);
        upsert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = (object?)text ?? DBNull.Value });
        await using (var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { UpsertHeader(message, header), upsert } })
        {
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the store's connections when it created its own data source.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_ownsDatabase)
        {
            await _database.DisposeAsync().ConfigureAwait(false);
        }
    }

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

    private static NpgsqlBatchCommand UpsertHeader(SessionMessage message, string header) => Command("""
        INSERT INTO agentcore_messages (session_id, id, data) VALUES ($1, $2, $3)
        ON CONFLICT (session_id, id) DO UPDATE SET data = excluded.data
        """, message.SessionId, message.Id, header);

    private static NpgsqlBatchCommand Command(string sql, params object[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (object value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private static void ValidateMessage(SessionMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Identifier.Validate(message.Id, IdKind.Message, nameof(message));
        Identifier.Validate(message.SessionId, IdKind.Session, nameof(message));
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt session {SessionId}: {Reason}")]
    private partial void LogCorruptSession(string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt message {MessageId} of session {SessionId}: {Reason}")]
    private partial void LogCorruptMessage(string sessionId, string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt part {PartId} of message {MessageId} of session {SessionId}: {Reason}")]
    private partial void LogCorruptPart(string sessionId, string messageId, string partId, string reason);
}
