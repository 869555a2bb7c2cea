using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace AgentCore;

/// <summary>
/// An <see cref="ISessionHistory"/> in the PostgreSQL database, so every app instance writes one usage history:
/// table <c>agentcore_history</c>, one row an entry.
/// </summary>
/// <remarks>
/// Each row holds the entry as JSON in letta-code's shape (<see cref="SessionHistoryEntry"/>), plus columns to query
/// by: <c>kind</c> (<c>start</c> or <c>end</c>), <c>agent_id</c>, <c>session_id</c>, <c>recorded_at</c>,
/// <c>total_tokens</c> and <c>cost_usd</c>. <see cref="ReadAsync"/> streams entries in the order written, skipping a
/// corrupt row with a warning.
/// </remarks>
public sealed partial class PostgreSqlSessionHistory : ISessionHistory, IAsyncDisposable, IDisposable
{
    /// <summary>AgentCore's JSON of an entry (letta-code's shape), from its source-generated metadata.</summary>
    private static readonly JsonTypeInfo<SessionHistoryEntry> EntryJson =
        (JsonTypeInfo<SessionHistoryEntry>)AgentCoreJson.Options.GetTypeInfo(typeof(SessionHistoryEntry));

    private readonly PostgreSqlDatabase _database;
    private readonly bool _ownsDatabase;
    private readonly ILogger _logger;

    /// <summary>Creates a history in the database <paramref name="connectionString"/> points to.</summary>
    /// <param name="connectionString">An Npgsql connection string; the history builds and owns a data source from it.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <exception cref="ArgumentException"><paramref name="connectionString"/> is null, empty or white space.</exception>
    public PostgreSqlSessionHistory(string connectionString, ILogger<PostgreSqlSessionHistory>? logger = null)
        : this(PostgreSqlDatabase.Create(connectionString), ownsDatabase: true, logger)
    {
    }

    /// <summary>Creates a history on <paramref name="dataSource"/>, which stays the caller's to dispose.</summary>
    /// <param name="dataSource">The data source to open connections from; not disposed by the history.</param>
    /// <param name="logger">The logger; null for none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is null.</exception>
    public PostgreSqlSessionHistory(NpgsqlDataSource dataSource, ILogger<PostgreSqlSessionHistory>? logger = null)
        : this(PostgreSqlDatabase.On(dataSource), ownsDatabase: true, logger)
    {
    }

    internal PostgreSqlSessionHistory(PostgreSqlDatabase database, bool ownsDatabase, ILogger? logger)
    {
        _database = database;
        _ownsDatabase = ownsDatabase;
        _logger = logger ?? NullLogger<PostgreSqlSessionHistory>.Instance;
    }

    /// <inheritdoc />
    public ValueTask RecordStartAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
        InsertAsync("start", entry, cancellationToken);

    /// <inheritdoc />
    public ValueTask RecordEndAsync(SessionHistoryEntry entry, CancellationToken cancellationToken = default) =>
        InsertAsync("end", entry, cancellationToken);

    /// <inheritdoc />
    public async IAsyncEnumerable<SessionHistoryEntry> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _database.MigrateAsync(_logger, cancellationToken).ConfigureAwait(false);
        var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand("SELECT seq, data FROM agentcore_history ORDER BY seq", connection);
        await using var commandScope = command.ConfigureAwait(false);
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using var readerScope = reader.ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            SessionHistoryEntry? entry = null;
            long seq = reader.GetInt64(0);
            try
            {
                entry = JsonSerializer.Deserialize(reader.GetString(1), EntryJson);
                if (entry is null)
                {
                    LogCorruptEntry(seq, "the row holds no entry");
                }
            }
            catch (JsonException ex)
            {
                LogCorruptEntry(seq, ex.Message);
            }

            if (entry is not null)
            {
                yield return entry;
            }
        }
    }

    /// <summary>Closes the history's connections when it created its own data source.</summary>
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

    private async ValueTask InsertAsync(string kind, SessionHistoryEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string json = JsonSerializer.Serialize(entry, EntryJson);
        await _database.MigrateAsync(_logger, cancellationToken).ConfigureAwait(false);
        var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand("""
            INSERT INTO agentcore_history (kind, agent_id, session_id, recorded_at, total_tokens, cost_usd, data)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue(kind);
        command.Parameters.AddWithValue(entry.AgentId ?? "");
        command.Parameters.AddWithValue(entry.SessionId ?? "");
        command.Parameters.AddWithValue(DateTimeOffset.FromUnixTimeMilliseconds(
            Math.Clamp(entry.Timestamp, DateTimeOffset.MinValue.ToUnixTimeMilliseconds(), DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())));
        command.Parameters.AddWithValue(entry.Usage?.TotalTokens ?? 0L);
        command.Parameters.AddWithValue(NpgsqlDbType.Numeric, (object?)entry.Cost?.UsdByok ?? DBNull.Value);
        command.Parameters.AddWithValue(json);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>Deletes the rows of those sessions in one statement.</remarks>
    public async ValueTask<int> DeleteSessionsAsync(IReadOnlyCollection<string> sessionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sessionIds);
        if (sessionIds.Count == 0)
        {
            return 0;
        }

        await _database.MigrateAsync(_logger, cancellationToken).ConfigureAwait(false);
        var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var connectionScope = connection.ConfigureAwait(false);
        var command = new NpgsqlCommand("DELETE FROM agentcore_history WHERE session_id = ANY($1)", connection);
        await using var commandScope = command.ConfigureAwait(false);
        command.Parameters.AddWithValue(sessionIds.ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped corrupt usage history row {Seq}: {Reason}")]
    private partial void LogCorruptEntry(long seq, string reason);
}
