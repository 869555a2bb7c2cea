using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCore;

/// <summary>
/// An AgentCore PostgreSQL database: the data source, and the schema migrations run once per data source
/// (and, across processes, one at a time under a transaction-level advisory lock).
/// </summary>
internal sealed partial class PostgreSqlDatabase : IAsyncDisposable
{
    /// <summary>The schema version this package writes.</summary>
    public const int SchemaVersion = 6;

    /// <summary>The advisory lock key that serializes migrations across processes ("agentcore:migrations").</summary>
    private const long MigrationLockKey = 0x6167_6e74_636f_7265;

    /// <summary>
    /// The schema, one script per version: script <c>i</c> takes the database from version <c>i</c> to <c>i + 1</c>.
    /// Never edit a released script; add the next one.
    /// </summary>
    internal static readonly string[] Migrations =
    [
        // 1: sessions, messages, parts and the usage history.
        StoreSchema.Version1(SqlDialect.PostgreSql) + """
        CREATE TABLE agentcore_history (
            seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind         text        NOT NULL, -- start | end
            agent_id     text        NOT NULL,
            session_id   text        NOT NULL,
            recorded_at  timestamptz NOT NULL,
            total_tokens bigint      NOT NULL,
            cost_usd     numeric,
            data         text        NOT NULL -- the entry as JSON, in letta-code's snake_case shape
        );
        CREATE INDEX agentcore_history_by_session ON agentcore_history (session_id, seq);
        """,

        // 2: messages and parts as columns. The schema 1 tables and their indexes are renamed aside; the store copies their
        // rows (PostgreSqlDatabase.CopySchema1MessagesAsync).
        """
        ALTER TABLE agentcore_messages RENAME TO agentcore_messages_v1;
        ALTER INDEX agentcore_messages_pkey RENAME TO agentcore_messages_v1_pkey;
        ALTER TABLE agentcore_parts RENAME TO agentcore_parts_v1;
        ALTER INDEX agentcore_parts_pkey RENAME TO agentcore_parts_v1_pkey;
        ALTER INDEX agentcore_parts_in_order RENAME TO agentcore_parts_v1_in_order;

        """ + StoreSchema.Version2(SqlDialect.PostgreSql),

        // 3: filtered listings (PostgreSqlSessionStore.ListSessionsAsync(SessionQuery)); the store fills
        // agentcore_session_metadata (PostgreSqlDatabase.CopyMetadataAsync).
        StoreSchema.Version3(SqlDialect.PostgreSql),

        // 4: full-text search (PostgreSqlSessionStore.SearchAsync): a tsvector of text parts and tool outputs, kept by triggers, GIN-indexed.
        PostgreSqlSearch.Migration,

        // 5: the messages stamp (PostgreSqlSessionStore.GetMessagesStampAsync): a row a session, set from one sequence by every
        // message write, so a value never repeats, even for a session deleted and written again. Room left in the pages of
        // the rows a turn updates again and again (stamps, parts, messages), so an update that changes no indexed column
        // stays on its page without new index entries (a HOT update): less WAL per turn.
        StoreSchema.Version5(SqlDialect.PostgreSql) + """
        CREATE SEQUENCE agentcore_message_stamp_sequence;
        ALTER TABLE agentcore_message_stamps SET (fillfactor = 50);
        ALTER TABLE agentcore_parts SET (fillfactor = 70);
        ALTER TABLE agentcore_messages SET (fillfactor = 80);

        """,

        // 6: the search index holds only the parts that are searched. A GIN index also records every row whose column is
        // NULL — each part of an open message, each step part — which cost an index entry in the WAL for every part a turn
        // writes. The search's condition (search @@ query) implies the index's, so the search reads it as before. The new
        // index is built before the old one is dropped: the build blocks part writes (not reads) until the migration
        // commits; the drop's exclusive lock, which would also block reads, is taken only at the end.
        """
        CREATE INDEX agentcore_parts_search_v6 ON agentcore_parts USING gin (search) WHERE search IS NOT NULL;
        DROP INDEX agentcore_parts_search;
        ALTER INDEX agentcore_parts_search_v6 RENAME TO agentcore_parts_search;

        """,
    ];

    private readonly bool _ownsDataSource;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _migrated;

    public PostgreSqlDatabase(NpgsqlDataSource dataSource, bool ownsDataSource)
    {
        DataSource = dataSource;
        _ownsDataSource = ownsDataSource;
    }

    public NpgsqlDataSource DataSource { get; }

    /// <summary>A database on a new data source built from <paramref name="connectionString"/>, which the database owns.</summary>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is null, empty or white space.</exception>
    public static PostgreSqlDatabase Create(string connectionString) =>
        new(NpgsqlDataSource.Create(PostgreSqlSessionStore.ValidConnectionString(connectionString)), ownsDataSource: true);

    /// <summary>A database on <paramref name="dataSource"/>, which stays the caller's to dispose.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is null.</exception>
    public static PostgreSqlDatabase On(NpgsqlDataSource dataSource) =>
        new(dataSource ?? throw new ArgumentNullException(nameof(dataSource)), ownsDataSource: false);

    /// <summary>Creates the tables or brings them up to <see cref="SchemaVersion"/>; once per instance, safe across processes.</summary>
    public async ValueTask MigrateAsync(ILogger logger, CancellationToken cancellationToken)
    {
        if (_migrated)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_migrated)
            {
                return;
            }

            var connection = await DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var connectionScope = connection.ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var transactionScope = transaction.ConfigureAwait(false);
            var lockCommand = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)") { Parameters = { new NpgsqlParameter { Value = MigrationLockKey } } };
            var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    lockCommand,
                    new NpgsqlBatchCommand("""
                        CREATE TABLE IF NOT EXISTS agentcore_schema_version (
                            version    integer     NOT NULL PRIMARY KEY,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """),
                },
            };
            await using (batch.ConfigureAwait(false))
            {
                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            int version;
            var read = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM agentcore_schema_version", connection, transaction);
            await using (read.ConfigureAwait(false))
            {
                version = (int)(await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            }

            if (version > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The database '{connection.Database}' has AgentCore schema version {version}, newer than the {SchemaVersion} this version of AgentCore.PostgreSql knows. Upgrade the package.");
            }

            for (int next = version + 1; next <= SchemaVersion; next++)
            {
                // No command timeout: a migration that builds an index over a large table must not fail (and roll back,
                // to start over on the next open) after the connection's default 30 s.
                var migrate = new NpgsqlCommand(Migrations[next - 1] + "\nINSERT INTO agentcore_schema_version (version) VALUES (" + next + ");", connection, transaction)
                {
                    CommandTimeout = 0,
                };
                await using (migrate.ConfigureAwait(false))
                {
                    await migrate.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                if (next == 2)
                {
                    await CopySchema1MessagesAsync(connection, transaction, new StoredRowReader(logger), cancellationToken).ConfigureAwait(false);
                }

                if (next == 3)
                {
                    await CopyMetadataAsync(connection, transaction, new StoredRowReader(logger), cancellationToken).ConfigureAwait(false);
                }

                LogMigrated(logger, connection.Database, next);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            _migrated = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await DataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Schema 2's data step: copies every message of schema 1's tables (<c>agentcore_messages_v1</c>, <c>agentcore_parts_v1</c>:
    /// JSON), read as schema 1 was read, into the new tables, one session at a time, then drops the old tables. Corrupt
    /// rows are skipped with a warning, as reading them did.
    /// </summary>
    private static async Task CopySchema1MessagesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StoredRowReader rows, CancellationToken cancellationToken)
    {
        var sessionIds = new List<string>();
        var command = new NpgsqlCommand("SELECT DISTINCT session_id FROM agentcore_messages_v1", connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        var idReader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (idReader.ConfigureAwait(false))
        {
            while (await idReader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sessionIds.Add(idReader.GetString(0));
            }
        }

        foreach (string sessionId in sessionIds)
        {
            var copy = rows.Schema1(sessionId);
            var batch = new NpgsqlBatch(connection, transaction)
            {
                BatchCommands =
                {
                    PostgreSqlSessionStore.Command("SELECT id, data FROM agentcore_messages_v1 WHERE session_id = $1 ORDER BY id", sessionId),
                    PostgreSqlSessionStore.Command(
                        "SELECT message_id, id, data, text FROM agentcore_parts_v1 WHERE session_id = $1 ORDER BY message_id, position, id", sessionId),
                },
            };
            await using var batchScope = batch.ConfigureAwait(false);
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                await copy.AddMessagesAsync(reader, cancellationToken).ConfigureAwait(false);
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
                await copy.AddPartsAsync(reader, cancellationToken).ConfigureAwait(false);
            }

            foreach (var message in copy.Messages)
            {
                var write = new NpgsqlBatch(connection, transaction);
                await using var writeScope = write.ConfigureAwait(false);
                PostgreSqlSessionStore.AddWriteMessage(write, message);
                await write.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var drop = new NpgsqlCommand("DROP TABLE agentcore_messages_v1; DROP TABLE agentcore_parts_v1;", connection, transaction);
        await using var dropScope = drop.ConfigureAwait(false);
        await drop.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Schema 3's data step: writes the metadata rows of every stored session, read from its JSON as a read would (a
    /// corrupt session is skipped with a warning, and stays unlisted as before).
    /// </summary>
    private static async Task CopyMetadataAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, StoredRowReader rows, CancellationToken cancellationToken)
    {
        List<SessionInfo> sessions;
        var command = new NpgsqlCommand("SELECT id, data FROM agentcore_sessions", connection, transaction);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            sessions = await rows.SessionsWithMetadataAsync(reader, cancellationToken).ConfigureAwait(false);
        }

        foreach (var session in sessions)
        {
            var batch = new NpgsqlBatch(connection, transaction);
            await using var batchScope = batch.ConfigureAwait(false);
            PostgreSqlSessionStore.AddReplaceMetadata(batch, session);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Migrated PostgreSQL database {Database} to AgentCore schema version {Version}")]
    private static partial void LogMigrated(ILogger logger, string database, int version);
}
