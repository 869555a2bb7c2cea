using AgentCore.Storage.Worker;
using NUnit.Framework;

namespace AgentCore.PostgreSql.Tests;

/// <summary>
/// Two processes on one PostgreSQL database, writing and chatting through AgentCore, with <see cref="PostgreSqlSessionLockProvider"/>
/// (advisory locks, LISTEN/NOTIFY aborts) between them and the usage history in the database.
/// </summary>
[TestFixture]
public sealed class PostgresTwoProcessTests : TwoProcessTests
{
    private string _connectionString = null!;
    private string _directory = null!;

    protected override string Backend => "postgres";

    protected override string Target => _connectionString;

    protected override string DataDirectory => _directory;

    [SetUp]
    public void CreateDatabase()
    {
        _connectionString = PostgresServer.CreateDatabase();
        _directory = Directory.CreateTempSubdirectory("agentcore-pg-chat-").FullName;
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    protected override ISessionStore OpenStore() => new PostgreSqlSessionStore(_connectionString);

    protected override async IAsyncEnumerable<SessionHistoryEntry> ReadHistoryAsync()
    {
        await using var history = new PostgreSqlSessionHistory(_connectionString);
        await foreach (var entry in history.ReadAsync())
        {
            yield return entry;
        }
    }

    // The server ends a killed process's backend, and with it its advisory locks, once it sees the connection closed.
    protected override Task WaitUntilLockFreeAsync(string sessionId) => WaitForLockReleaseAsync(_connectionString, sessionId);

    protected override ISessionLockProvider OpenLockProvider() => new PostgreSqlSessionLockProvider(_connectionString);

    /// <summary>
    /// Waits until no one holds the session's advisory lock: takes it with a blocking <c>pg_advisory_lock</c> (bounded by
    /// <c>lock_timeout</c>) and lets it go again.
    /// </summary>
    internal static async Task WaitForLockReleaseAsync(string connectionString, string sessionId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var batch = new Npgsql.NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new Npgsql.NpgsqlBatchCommand("SET lock_timeout = '60s'"),
                new Npgsql.NpgsqlBatchCommand("SELECT pg_advisory_lock($1)") { Parameters = { new() { Value = PostgreSqlSessionLockProvider.LockKey(sessionId) } } },
                new Npgsql.NpgsqlBatchCommand("SELECT pg_advisory_unlock($1)") { Parameters = { new() { Value = PostgreSqlSessionLockProvider.LockKey(sessionId) } } },
            },
        };
        await batch.ExecuteNonQueryAsync();
    }
}

